import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Client } from '@grpc/grpc-js';
import type { TargetPolicy } from '../../registry/health/policy.js';

/**
 * What probes share within one worker: keep-alive connection pools (thousands of
 * checks a second must not each pay a TCP handshake), gRPC channels by target, and
 * the operator's network policy, applied at DNS resolution.
 */
export class ProbeContext {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  readonly httpsInsecure: HttpsAgent;
  readonly grpcClients = new Map<string, Client>();

  constructor(readonly policy: TargetPolicy) {
    const options = { keepAlive: true, maxSockets: 256, maxFreeSockets: 256, lookup: policy.lookup };
    this.http = new HttpAgent(options);
    this.https = new HttpsAgent(options);
    this.httpsInsecure = new HttpsAgent({ ...options, rejectUnauthorized: false });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
    this.httpsInsecure.destroy();
    for (const client of this.grpcClients.values()) client.close();
    this.grpcClients.clear();
  }
}
