import { badInput, notSupported, SwitchboardError, unavailable } from '@switchboard/contracts';
import { ApiStatusError, ApiTimeoutError, CredentialsError } from './api.js';

/**
 * What the API server (or the road to it) said, as the error every backend throws, naming the backend:
 * 401 (or credentials that cannot be loaded) → UNAUTHENTICATED, 403 → FORBIDDEN (the credentials were accepted; RBAC refused), 400 (a selector the
 * server refuses) → BAD_USER_INPUT, 404 (a resource the server does not serve) → NOT_SUPPORTED, and no
 * answer, a timeout, 429 or 5xx → UNAVAILABLE.
 */
export function toRegistryError(error: unknown, backend: string): SwitchboardError {
  if (error instanceof SwitchboardError) return error;
  if (error instanceof ApiStatusError) {
    const { statusCode, message } = error;
    if (statusCode === 401) return new SwitchboardError('UNAUTHENTICATED', `${backend}: the API server refused the credentials (${message}).`);
    if (statusCode === 403) {
      return new SwitchboardError(
        'FORBIDDEN',
        `${backend}: the credentials may not read this (${message}). Grant get, list and watch on endpointslices (discovery.k8s.io) and pods.`,
      );
    }
    if (statusCode === 400) return badInput(`${backend}: the API server refused the request (${message}); check labelSelector and fieldSelector.`);
    if (statusCode === 404) return notSupported(`${backend}: the API server does not serve this (${message}); EndpointSlices need Kubernetes 1.21 or later.`);
    return unavailable(`${backend}: the API server answered ${message}.`);
  }
  if (error instanceof CredentialsError) return new SwitchboardError('UNAUTHENTICATED', `${backend}: the credentials could not be loaded (${error.message}).`);
  if (error instanceof ApiTimeoutError) return unavailable(`${backend} did not answer: ${error.message}.`);
  if (error instanceof SyntaxError) return unavailable(`${backend}: the API server's answer was not JSON (${error.message}).`);
  const message = error instanceof Error ? error.message : String(error);
  return unavailable(`${backend} could not be reached (${message}).`);
}
