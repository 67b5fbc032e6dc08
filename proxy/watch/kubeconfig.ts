// Where the daemon's API credentials come from, as upstream kube-proxy decides it: --kubeconfig
// (with --master overriding its server), --master alone, or the in-cluster service account.
//
// Every file the chosen credentials name (the kubeconfig itself, certificate-authority, client
// certificate and key, token file) is read here, once, at start: client-node would only read them
// on each request, so a missing CA or token file became an error retried forever instead of the
// clear start-up failure upstream gives (client-go reads them when it builds the client).

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { KubeConfig } from './client-node.js';
import { parse as parseYaml } from 'yaml';
import { TOKEN_FILE_PROVIDER, TokenFileAuth, tokenFileOf } from './token-file-auth.js';

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

/** The credentials cannot be used; the message names the file at fault. The daemon exits 1. */
export class KubeConfigError extends Error {
  constructor(
    /** The file at fault (the kubeconfig, or a file it names). */
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export function loadKubeConfig(src: KubeConfigSource, inCluster: InClusterEnv = {}): KubeConfig {
  const kc = new KubeConfig();
  if (src.kubeconfig !== '') {
    loadFile(kc, src.kubeconfig);
    if (src.master !== '') return withTokenFiles(withServer(kc, src.master, src.kubeconfig));
    if (!kc.getCurrentCluster()) throw new KubeConfigError(src.kubeconfig, `kubeconfig ${src.kubeconfig} has no current cluster`);
    checkFiles(kc, `kubeconfig ${src.kubeconfig}`);
    return withTokenFiles(kc);
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
  // client-node's own token-file provider sends the file verbatim; ours trims it (client-go does).
  kc.users = kc.users.map((u) => {
    const config: unknown = u.authProvider?.config;
    const file = isRecord(config) ? config['tokenFile'] : undefined;
    return typeof file === 'string' ? { ...u, authProvider: { name: TOKEN_FILE_PROVIDER, config: { path: file } } } : u;
  });
  checkFiles(kc, 'in-cluster service account');
  return withTokenFiles(kc);
}

function withTokenFiles(kc: KubeConfig): KubeConfig {
  kc.addAuthenticator(new TokenFileAuth());
  return kc;
}

/**
 * Reads and parses the kubeconfig. The file is parsed here first so that errors name the file,
 * and because client-node does not know client-go's `tokenFile` key (it knows `token-file`, and
 * reads that once, relative to the working directory): both become our token-file provider
 * (token-file-auth.ts), which trims and re-reads the file as client-go does for rotated tokens.
 */
function loadFile(kc: KubeConfig, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeConfigError(path, `cannot read kubeconfig ${path}: ${messageOf(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeConfigError(path, `kubeconfig ${path} is not valid YAML: ${firstLine(messageOf(err))}`);
  }
  if (!isRecord(doc) || !Array.isArray(doc['clusters'])) {
    throw new KubeConfigError(path, `kubeconfig ${path} is not a kubeconfig (no clusters list)`);
  }
  const root = dirname(path);
  if (Array.isArray(doc['users'])) doc['users'] = doc['users'].map((u: unknown) => withTokenFileProvider(u, root));
  try {
    // JSON is YAML: client-node parses the normalised document as it would the file.
    kc.loadFromString(JSON.stringify(doc));
  } catch (err) {
    throw new KubeConfigError(path, `kubeconfig ${path} is invalid: ${firstLine(messageOf(err))}`);
  }
  kc.makePathsAbsolute(root);
}

function withTokenFileProvider(entry: unknown, root: string): unknown {
  if (!isRecord(entry) || !isRecord(entry['user'])) return entry;
  const { tokenFile, 'token-file': dashed, ...user } = entry['user'];
  const file = typeof tokenFile === 'string' && tokenFile !== '' ? tokenFile : dashed;
  // A static token wins over a token file, as in client-go.
  if (typeof file !== 'string' || file === '' || typeof user['token'] === 'string') return { ...entry, user };
  const abs = isAbsolute(file) ? file : join(root, file);
  return { ...entry, user: { ...user, 'auth-provider': { name: TOKEN_FILE_PROVIDER, config: { path: abs } } } };
}

/** Every file the current context names must be readable now, not at the first request. */
function checkFiles(kc: KubeConfig, source: string): void {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const read = (file: string | undefined | null, what: string, owner: string, nonEmpty = false): void => {
    if (file === undefined || file === null || file === '') return;
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      throw new KubeConfigError(file, `cannot read the ${what} file ${file} of ${owner} (${source}): ${fsReason(err)}`);
    }
    if (nonEmpty && data.toString('utf8').trim() === '') {
      throw new KubeConfigError(file, `the ${what} file ${file} of ${owner} (${source}) is empty`);
    }
  };
  if (cluster && !cluster.skipTLSVerify) read(cluster.caFile, 'certificate-authority', `cluster "${cluster.name}"`);
  if (user) {
    const owner = `user "${user.name}"`;
    read(user.certFile, 'client-certificate', owner);
    read(user.keyFile, 'client-key', owner);
    read(tokenFileOf(user), 'token', owner, true);
  }
}

/** "ENOENT: no such file or directory" without Node's ", open '<path>'" (the path is named already). */
function fsReason(err: unknown): string {
  return messageOf(err).replace(/, \w+ '.*'$/, '');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
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

function withServer(kc: KubeConfig, master: string, path: string): KubeConfig {
  const current = kc.getCurrentCluster();
  if (!current) throw new KubeConfigError(path, `kubeconfig ${path} has no current cluster to apply --master to`);
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
  checkFiles(out, `kubeconfig ${path}`);
  return out;
}
