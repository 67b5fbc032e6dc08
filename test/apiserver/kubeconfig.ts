// Writes a kubeconfig for a TestApiServer so a separately started daemon can use --kubeconfig.

import { stringify } from 'yaml';
import type { TestApiServer } from './server.js';

export interface KubeconfigOptions {
  /** Server URL override, e.g. the address of a forwarder inside a network namespace. */
  readonly url?: string;
  /** Skip certificate verification instead of pinning the server's certificate. */
  readonly insecure?: boolean;
}

export function kubeconfigFor(server: TestApiServer, opts: KubeconfigOptions = {}): string {
  const url = opts.url ?? server.url;
  const cluster: Record<string, unknown> = { server: url };
  if (url.startsWith('http:')) {
    // client-node 1.x refuses plain http unless TLS verification is (pointlessly) disabled.
    cluster['insecure-skip-tls-verify'] = true;
  } else {
    if (opts.insecure || !server.caPem) cluster['insecure-skip-tls-verify'] = true;
    else cluster['certificate-authority-data'] = Buffer.from(server.caPem).toString('base64');
  }
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster }],
    users: [{ name: 'kube-proxy', user: { token: server.token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'kube-proxy' } }],
    'current-context': 'test',
    preferences: {},
  });
}
