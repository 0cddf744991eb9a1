import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface Certificate {
  key: string;
  cert: string;
  /** Where the certificate is written (a kubeconfig's certificate-authority, a service account's ca.crt). */
  certFile: string;
}

/**
 * A self-signed certificate for 127.0.0.1, made with the openssl CLI into `directory`: the stand-in serves
 * https with it, as a real API server does (kubectl sends no bearer token over plain http, and an in-cluster
 * client trusts only the service account's CA).
 */
export async function selfSignedCertificate(directory: string): Promise<Certificate> {
  const keyFile = join(directory, 'server.key');
  const certFile = join(directory, 'server.crt');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=kubernetes-stand-in',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), certFile };
}
