// Where the daemon's API credentials come from, as upstream kube-proxy decides it: --kubeconfig
// (with --master overriding its server), --master alone, or the in-cluster service account.

import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigSource {
  /** Path of a kubeconfig file; "" for none. */
  readonly kubeconfig: string;
  /** API server URL; "" for none. Overrides the kubeconfig's server when both are given. */
  readonly master: string;
}

export interface InClusterEnv {
  readonly env?: NodeJS.ProcessEnv;
  /** Prefix of /var/run/secrets/kubernetes.io/serviceaccount (tests point it at a temp dir). */
  readonly serviceAccountRoot?: string;
}

export function loadKubeConfig(src: KubeConfigSource, inCluster: InClusterEnv = {}): KubeConfig {
  const kc = new KubeConfig();
  if (src.kubeconfig !== '') {
    kc.loadFromFile(src.kubeconfig);
    if (src.master !== '') return withServer(kc, src.master);
    if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${src.kubeconfig} has no current cluster`);
    return kc;
  }
  if (src.master !== '') {
    // Like upstream with only --master: no credentials, the server must accept the request.
    kc.loadFromClusterAndUser(
      { name: 'master', server: stripSlash(src.master), skipTLSVerify: isPlainHttp(src.master) },
      { name: 'anonymous' },
    );
    return kc;
  }
  const env = inCluster.env ?? process.env;
  if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) {
    throw new Error(
      'no --kubeconfig or --master given and not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)',
    );
  }
  // client-node reads the variables from process.env itself; pass ours through when injected.
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
  process.env['KUBERNETES_SERVICE_HOST'] = env['KUBERNETES_SERVICE_HOST'];
  process.env['KUBERNETES_SERVICE_PORT'] = env['KUBERNETES_SERVICE_PORT'];
  try {
    kc.loadFromCluster(inCluster.serviceAccountRoot ?? '');
  } finally {
    restoreEnv('KUBERNETES_SERVICE_HOST', saved.host);
    restoreEnv('KUBERNETES_SERVICE_PORT', saved.port);
  }
  return kc;
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

// client-node 1.x refuses http:// servers unless skipTLSVerify is set, though there is no TLS to
// verify; an explicit http:// --master is the operator's choice, as upstream allows it.
function isPlainHttp(url: string): boolean {
  return url.startsWith('http:');
}

function stripSlash(url: string): string {
  // The watch client appends paths to the server URL verbatim.
  return url.replace(/\/+$/, '');
}

function withServer(kc: KubeConfig, master: string): KubeConfig {
  const current = kc.getCurrentCluster();
  if (!current) throw new Error('kubeconfig has no current cluster to apply --master to');
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) =>
      c.name === current.name
        ? { ...c, server: stripSlash(master), skipTLSVerify: c.skipTLSVerify || isPlainHttp(master) }
        : c,
    ),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}
