import { component } from '@switchboard/sdk';

/**
 * The checkout flow's steps, declared with `@component`. Payments provides the two steps (`provider`), so its
 * `start()` registers them, fraud-check before record-entry, which depends on it; the FLOW component has no
 * provider and is registered by `switchboard apply`. `switchboard scan` reads these declarations statically.
 */
export const SINGLE_PAYMENT_LIMIT = 10_000;

@component({
  type: 'STEP',
  name: 'fraud-check',
  version: '1.0.0',
  description: 'Refuses a payment over the single-payment limit.',
  metadata: { limit: SINGLE_PAYMENT_LIMIT },
  flows: ['checkout@^1'],
  provider: 'payments',
})
export class FraudCheck {
  allows(payment: { amount: number }): boolean {
    return payment.amount <= SINGLE_PAYMENT_LIMIT;
  }
}

@component({
  type: 'STEP',
  name: 'record-entry',
  version: '1.0.0',
  description: 'Posts the payment to the ledger.',
  dependencies: ['fraud-check@^1'],
  flows: ['checkout@^1'],
  provider: 'payments',
})
export class RecordEntry {}

@component({
  type: 'FLOW',
  name: 'checkout',
  version: '1.0.0',
  description: 'Takes a payment.',
  metadata: { steps: ['fraud-check', 'record-entry'], timeout: '30s' },
})
export class CheckoutFlow {}
