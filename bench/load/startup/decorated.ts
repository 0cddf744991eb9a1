import { component, service } from '@switchboard/sdk';

/**
 * bench/startup.ts: one service and the components it provides, declared with decorators. Each step depends on the
 * one before it and is declared before it, so start() has to order them. `switchboard scan` + `generate` turn this
 * file into switchboard.generated.ts, which plain.ts starts from.
 */
@service({ name: 'warehouse', version: '1.0.0', port: 7600, healthCheck: { ttl: '30s' } })
export class Warehouse {}

@component({ type: 'STEP', name: 'step-24', version: '1.0.0', dependencies: ['step-23@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step24 {}

@component({ type: 'STEP', name: 'step-23', version: '1.0.0', dependencies: ['step-22@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step23 {}

@component({ type: 'STEP', name: 'step-22', version: '1.0.0', dependencies: ['step-21@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step22 {}

@component({ type: 'STEP', name: 'step-21', version: '1.0.0', dependencies: ['step-20@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step21 {}

@component({ type: 'STEP', name: 'step-20', version: '1.0.0', dependencies: ['step-19@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step20 {}

@component({ type: 'STEP', name: 'step-19', version: '1.0.0', dependencies: ['step-18@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step19 {}

@component({ type: 'STEP', name: 'step-18', version: '1.0.0', dependencies: ['step-17@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step18 {}

@component({ type: 'STEP', name: 'step-17', version: '1.0.0', dependencies: ['step-16@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step17 {}

@component({ type: 'STEP', name: 'step-16', version: '1.0.0', dependencies: ['step-15@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step16 {}

@component({ type: 'STEP', name: 'step-15', version: '1.0.0', dependencies: ['step-14@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step15 {}

@component({ type: 'STEP', name: 'step-14', version: '1.0.0', dependencies: ['step-13@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step14 {}

@component({ type: 'STEP', name: 'step-13', version: '1.0.0', dependencies: ['step-12@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step13 {}

@component({ type: 'STEP', name: 'step-12', version: '1.0.0', dependencies: ['step-11@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step12 {}

@component({ type: 'STEP', name: 'step-11', version: '1.0.0', dependencies: ['step-10@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step11 {}

@component({ type: 'STEP', name: 'step-10', version: '1.0.0', dependencies: ['step-09@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step10 {}

@component({ type: 'STEP', name: 'step-09', version: '1.0.0', dependencies: ['step-08@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step09 {}

@component({ type: 'STEP', name: 'step-08', version: '1.0.0', dependencies: ['step-07@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step08 {}

@component({ type: 'STEP', name: 'step-07', version: '1.0.0', dependencies: ['step-06@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step07 {}

@component({ type: 'STEP', name: 'step-06', version: '1.0.0', dependencies: ['step-05@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step06 {}

@component({ type: 'STEP', name: 'step-05', version: '1.0.0', dependencies: ['step-04@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step05 {}

@component({ type: 'STEP', name: 'step-04', version: '1.0.0', dependencies: ['step-03@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step04 {}

@component({ type: 'STEP', name: 'step-03', version: '1.0.0', dependencies: ['step-02@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step03 {}

@component({ type: 'STEP', name: 'step-02', version: '1.0.0', dependencies: ['step-01@^1'], flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step02 {}

@component({ type: 'STEP', name: 'step-01', version: '1.0.0', flows: ['fulfilment@^1'], provider: 'warehouse' })
export class Step01 {}
