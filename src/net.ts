/** "host:port", with an IPv6 host in brackets ("[::1]:8080"); just the host when there is no port. */
export function hostPort(host: string, port: number | null): string {
  if (port === null) return host;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
