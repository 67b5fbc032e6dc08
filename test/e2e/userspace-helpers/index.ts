// Shared set-up for test/e2e/userspace*.test.ts: the stand-in apiserver (unix socket in the test
// process), a kube-proxy-ts daemon in --mode=userspace inside a node namespace, Service and
// EndpointSlice builders, and wrappers for the helper programs in this folder (blob.mjs: bulk
// transfer with sha256 and half-close; conns.mjs: many concurrent long-lived connections).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { TestApiServer, kubeconfigFor, makeEndpointSlice, makeNode, makeService, type ServiceSpec } from '../../apiserver/index.js';
import { apiserverBridge, nsExec, startDaemon, type ApiserverBridge, type Cluster, type Daemon, type NodeHandle } from '../harness/index.js';
import { spawnReady, type Helper } from '../harness/spawn.js';
import { stopChild, track } from '../harness/processes.js';
import { eventually, sleep } from '../../support/eventually.js';

export const HELPERS_DIR = dirname(fileURLToPath(import.meta.url));
export const HEALTHZ_PORT = 10256;
export const METRICS_PORT = 10249;

export { eventually, sleep };

export interface Env {
  readonly api: TestApiServer;
  readonly dir: string;
  close(): Promise<void>;
}

export async function startApi(c: Cluster): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-us-e2e-'));
  const api = await TestApiServer.start({ unixSocket: join(dir, 'api.sock') });
  for (const n of [c.nodes.a, c.nodes.b]) {
    api.create(makeNode({ name: n.name, internalIPs: [n.ipv4, n.ipv6], podCIDRs: [n.podCIDRv4, n.podCIDRv6] }));
  }
  return {
    api,
    dir,
    close: async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface UserspaceProxy {
  readonly daemon: Daemon;
  readonly bridge: ApiserverBridge;
  stop(): Promise<number>;
}

export async function startUserspaceProxy(env: Env, node: NodeHandle, extra: readonly string[] = []): Promise<UserspaceProxy> {
  const bridge = await apiserverBridge(node.ns, join(env.dir, 'api.sock'));
  const kubeconfig = join(env.dir, `kubeconfig-${node.name}`);
  writeFileSync(kubeconfig, kubeconfigFor(env.api, { url: bridge.url }));
  const daemon = startDaemon(node.ns, [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${node.name}`,
    '--mode=userspace',
    `--healthz-bind-address=127.0.0.1:${HEALTHZ_PORT}`,
    `--metrics-bind-address=127.0.0.1:${METRICS_PORT}`,
    '--iptables-min-sync-period=100ms',
    '--iptables-sync-period=30s',
    // The conntrack table size is global to the host: never touch it from a test.
    '--conntrack-max-per-core=0',
    '--logging-format=json',
    '-v=2',
    ...extra,
  ]);
  try {
    await daemon.waitForLog(/synced proxy rules/, 30_000);
  } catch (e) {
    await daemon.stop();
    await bridge.stop();
    throw e;
  }
  return {
    daemon,
    bridge,
    stop: async () => {
      const code = await daemon.stop();
      await bridge.stop();
      return code;
    },
  };
}

export interface SvcPort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number;
  readonly protocol?: 'TCP' | 'UDP';
  readonly nodePort?: number;
}

export function service(s: Omit<ServiceSpec, 'ports'> & { readonly ports: readonly SvcPort[] }): V1Service {
  return makeService({
    namespace: 'default',
    ...s,
    ports: s.ports.map((p) => ({ name: p.name ?? 'p', port: p.port, targetPort: p.targetPort ?? 8080, protocol: p.protocol ?? 'TCP', ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
  });
}

export function slice(svc: string, ips: readonly { ip: string; nodeName: string }[], ports: readonly SvcPort[], family: 'IPv4' | 'IPv6' = 'IPv4'): V1EndpointSlice {
  return makeEndpointSlice({
    service: svc,
    namespace: 'default',
    name: `${svc}-${family === 'IPv4' ? 'v4' : 'v6'}`,
    addressType: family,
    ports: ports.map((p) => ({ name: p.name ?? 'p', port: p.targetPort ?? 8080, protocol: p.protocol ?? 'TCP' })),
    endpoints: ips.map((e) => ({ ip: e.ip, nodeName: e.nodeName })),
  });
}

/** nat rules of the userspace chains in `ns` (for failure messages and readiness checks). */
export async function portalRules(ns: string, family: 'IPv4' | 'IPv6' = 'IPv4'): Promise<string> {
  const r = await nsExec(ns, [family === 'IPv6' ? 'ip6tables-save' : 'iptables-save', '-t', 'nat']);
  return r.stdout
    .split('\n')
    .filter((l) => /KUBE-(PORTALS|NODEPORT)/.test(l))
    .join('\n');
}

// ---- blob.mjs --------------------------------------------------------------------------------------

export function startSink(ns: string, port: number, delayMs = 0): Promise<Helper> {
  // spawnReady resolves scripts relative to the harness folder.
  return spawnReady(ns, '../userspace-helpers/blob.mjs', ['sink', '--port', String(port), '--delay', String(delayMs)]);
}

export interface BlobResult {
  readonly sent?: number;
  readonly sha256?: string;
  readonly reply?: { bytes: number; sha256: string };
  readonly error?: string;
}

export async function sendBlob(ns: string, ip: string, port: number, bytes: number, timeoutMs = 90_000): Promise<BlobResult> {
  const r = await nsExec(
    ns,
    [process.execPath, join(HELPERS_DIR, 'blob.mjs'), 'send', '--ip', ip, '--port', String(port), '--bytes', String(bytes), '--timeout', String(timeoutMs)],
    { timeoutMs: timeoutMs + 10_000 },
  );
  if (r.code !== 0) throw new Error(`blob send in ${ns} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as BlobResult;
}

// ---- conns.mjs -------------------------------------------------------------------------------------

export interface ConnsReady {
  readonly names: Record<string, number>;
  readonly failed: number;
}
export interface ConnsChecked {
  readonly ok: number;
  readonly failed: number;
  readonly closed: number;
  readonly errors: Record<string, number>;
}
export interface ManyConns {
  readonly ready: Promise<ConnsReady>;
  check(tag: string): Promise<ConnsChecked>;
  close(): Promise<void>;
}

/** `count` concurrent echo connections held by one helper process in `ns`. */
export function openMany(ns: string, ip: string, port: number, count: number, timeoutMs = 5000): ManyConns {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(HELPERS_DIR, 'conns.mjs'), JSON.stringify({ ip, port, count, timeoutMs })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  track(child, ns);
  child.stdin.on('error', () => undefined);
  const waiting: Array<(v: Record<string, unknown>) => void> = [];
  const exited = new Promise<never>((_, reject) => child.once('exit', (c) => reject(new Error(`conns.mjs exited ${c}`))));
  exited.catch(() => undefined);
  createInterface({ input: child.stdout }).on('line', (l) => waiting.shift()?.(JSON.parse(l) as Record<string, unknown>));
  const next = <T>(): Promise<T> => Promise.race([new Promise<T>((r) => waiting.push(r as (v: Record<string, unknown>) => void)), exited]);
  const ready = next<ConnsReady>();
  return {
    ready,
    check: (tag) => {
      const p = next<ConnsChecked>();
      child.stdin.write(JSON.stringify({ op: 'check', tag }) + '\n');
      return p;
    },
    close: async () => {
      child.stdin.write(JSON.stringify({ op: 'close' }) + '\n');
      await Promise.race([exited.catch(() => undefined), sleep(2000)]);
      await stopChild(child, 1000);
    },
  };
}

// ---- dials.mjs -------------------------------------------------------------------------------------

export interface Dial {
  readonly name?: string;
  readonly error?: string;
  /** From connect() to the greeting (or the failure), as the client saw it. */
  readonly ms: number;
}

/** `count` timed connections from `ns`, `concurrency` at a time, each failing after `timeoutMs`. */
export async function timedDials(ns: string, ip: string, port: number, opts: { count: number; timeoutMs: number; concurrency?: number }): Promise<Dial[]> {
  const budget = Math.ceil(opts.count / (opts.concurrency ?? 1)) * opts.timeoutMs;
  const r = await nsExec(ns, [process.execPath, join(HELPERS_DIR, 'dials.mjs'), JSON.stringify({ ip, port, ...opts })], { timeoutMs: budget + 10_000 });
  if (r.code !== 0) throw new Error(`dials.mjs in ${ns} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Dial[];
}

/** p50/p99/max of the dials' latencies, for logs and notes. */
export function latencySummary(dials: readonly Dial[]): { p50: number; p99: number; max: number; over250: number } {
  const ms = dials.map((d) => d.ms).sort((a, b) => a - b);
  const at = (q: number): number => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: ms[ms.length - 1] ?? NaN, over250: ms.filter((m) => m >= 250).length };
}
