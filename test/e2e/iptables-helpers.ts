// Shared set-up for the iptables-mode end-to-end tests (test/e2e/iptables-*.test.ts): one test
// apiserver on a unix socket in the test process, a bridge and a kube-proxy-ts daemon per node
// namespace, and ways to wait until a change is really programmed (by reading iptables-save in
// the node namespace, never by sleeping).
//
// Local-traffic detection uses --detect-local-mode=NodeCIDR with the Nodes' podCIDRs. A
// --cluster-cidr of 198.18.0.0/16 would also cover the LAN (nodes and the external client
// 198.18.0.100), so external traffic would be treated as pod traffic and short-circuit
// externalTrafficPolicy: Local, exactly as upstream does for in-cluster sources.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { TestApiServer, kubeconfigFor, makeEndpointSlice, makeNode, makeService, type EndpointSpec, type ServiceSpec } from '../apiserver/index.js';
import {
  DEFAULT_DAEMON_ENTRY,
  apiserverBridge,
  httpGet,
  nsExec,
  startDaemon,
  type ApiserverBridge,
  type Cluster,
  type Daemon,
  type NodeHandle,
} from './harness/index.js';
import { eventually, sleep } from '../support/eventually.js';

export const HEALTHZ_PORT = 10256;
export const METRICS_PORT = 10249;

export { eventually, sleep };

// ------------------------------------------------------------------------------------------------
// Apiserver and daemons

export interface TestEnv {
  readonly api: TestApiServer;
  readonly socket: string;
  readonly dir: string;
  close(): Promise<void>;
}

export async function startApi(c: Cluster): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-ipt-e2e-'));
  const socket = join(dir, 'api.sock');
  const api = await TestApiServer.start({ unixSocket: socket });
  for (const n of [c.nodes.a, c.nodes.b]) {
    api.create(
      makeNode({
        name: n.name,
        internalIPs: [n.ipv4, n.ipv6],
        podCIDRs: [n.podCIDRv4, n.podCIDRv6],
      }),
    );
  }
  return {
    api,
    socket,
    dir,
    close: async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ProxyOptions {
  readonly extraArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Reuse an existing bridge (restarts); otherwise one is started. */
  readonly bridge?: ApiserverBridge;
}

export interface Proxy {
  readonly node: NodeHandle;
  readonly daemon: Daemon;
  readonly bridge: ApiserverBridge;
  readonly kubeconfig: string;
  /** Stops the daemon (SIGTERM) and, unless keepBridge, the bridge. Resolves with the exit code. */
  stop(keepBridge?: boolean): Promise<number>;
}

/** `defaults` with every flag that `extra` also sets replaced by extra's value (extra comes last). */
export function withFlags(defaults: readonly string[], extra: readonly string[]): string[] {
  const flagName = (a: string): string => a.split('=')[0] ?? a;
  const overridden = new Set(extra.map(flagName));
  return [...defaults.filter((a) => !overridden.has(flagName(a))), ...extra];
}

/** The daemon's command line; a `--flag=value` in `extra` replaces the default of that flag. */
export function proxyArgs(node: NodeHandle, kubeconfig: string, extra: readonly string[] = []): string[] {
  const defaults = [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${node.name}`,
    '--mode=iptables',
    '--detect-local-mode=NodeCIDR',
    `--healthz-bind-address=0.0.0.0:${HEALTHZ_PORT}`,
    `--metrics-bind-address=127.0.0.1:${METRICS_PORT}`,
    '--iptables-min-sync-period=100ms',
    '--iptables-sync-period=30s',
    // The conntrack table size is global to the host: never touch it from a test.
    '--conntrack-max-per-core=0',
    '--logging-format=json',
    '-v=2',
  ];
  return withFlags(defaults, extra);
}

/** How a suite runs its daemons: the command line, and waits sized for the host or a slow VM. */
export interface ProxyFlavour {
  readonly args: (node: NodeHandle, kubeconfig: string, extra?: readonly string[]) => string[];
  readonly firstSyncTimeoutMs: number;
  readonly stopGraceMs?: number;
}

const IPTABLES_FLAVOUR: ProxyFlavour = { args: proxyArgs, firstSyncTimeoutMs: 30_000 };

/** Starts a daemon in `node`'s namespace and waits for its first successful sync. */
export async function startProxy(env: TestEnv, node: NodeHandle, opts: ProxyOptions = {}, flavour = IPTABLES_FLAVOUR): Promise<Proxy> {
  const bridge = opts.bridge ?? (await apiserverBridge(node.ns, env.socket));
  const kubeconfig = join(env.dir, `kubeconfig-${node.name}`);
  writeFileSync(kubeconfig, kubeconfigFor(env.api, { url: bridge.url }));
  const daemon = startDaemon(node.ns, flavour.args(node, kubeconfig, opts.extraArgs), opts.env ? { env: opts.env } : {});
  await daemon.waitForLog(/synced proxy rules/, flavour.firstSyncTimeoutMs);
  return {
    node,
    daemon,
    bridge,
    kubeconfig,
    stop: async (keepBridge = false) => {
      const code = await daemon.stop(flavour.stopGraceMs);
      if (!keepBridge) await bridge.stop();
      return code;
    },
  };
}

export interface ParsedLog {
  readonly msg?: string;
  readonly [k: string]: unknown;
}

export function logRecords(d: Daemon): ParsedLog[] {
  const out: ParsedLog[] = [];
  for (const line of d.logs().split('\n')) {
    try {
      out.push(JSON.parse(line) as ParsedLog);
    } catch {
      // not JSON (stack traces)
    }
  }
  return out;
}

export const syncCount = (d: Daemon): number => logRecords(d).filter((r) => r.msg === 'synced proxy rules').length;

// ------------------------------------------------------------------------------------------------
// Services

export interface SvcEndpoint {
  readonly ip: string;
  readonly nodeName: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export interface SimpleService extends Omit<ServiceSpec, 'ports'> {
  readonly port?: number;
  readonly targetPort?: number;
  readonly protocol?: 'TCP' | 'UDP';
  readonly nodePort?: number;
}

/** One-port ("http") Service; returns the object for later updates. */
export function service(s: SimpleService): V1Service {
  const { port = 80, targetPort = 8080, protocol = 'TCP', nodePort, ...rest } = s;
  return makeService({
    namespace: 'default',
    ...rest,
    ports: [{ name: 'http', port, targetPort, protocol, ...(nodePort !== undefined ? { nodePort } : {}) }],
  });
}

/** The EndpointSlice for service `svc` (one per address family; fixed name so it can be updated). */
export function slice(
  svc: string,
  endpoints: readonly SvcEndpoint[],
  opts: { family?: 'IPv4' | 'IPv6'; port?: number; protocol?: 'TCP' | 'UDP' } = {},
): V1EndpointSlice {
  const family = opts.family ?? 'IPv4';
  return makeEndpointSlice({
    service: svc,
    namespace: 'default',
    name: `${svc}-${family === 'IPv4' ? 'v4' : 'v6'}`,
    addressType: family,
    ports: [{ name: 'http', port: opts.port ?? 8080, protocol: opts.protocol ?? 'TCP' }],
    endpoints: endpoints.map((e): EndpointSpec => ({
      ip: e.ip,
      nodeName: e.nodeName,
      ...(e.ready !== undefined ? { ready: e.ready } : {}),
      ...(e.serving !== undefined ? { serving: e.serving } : {}),
      ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
    })),
  });
}

// ------------------------------------------------------------------------------------------------
// Reading the kernel's rules in a node namespace

export async function iptablesSave(ns: string, family: 'IPv4' | 'IPv6' = 'IPv4', table?: string, counters = false): Promise<string> {
  const argv = [family === 'IPv6' ? 'ip6tables-nft-save' : 'iptables-nft-save'];
  if (counters) argv.push('-c');
  if (table) argv.push('-t', table);
  const r = await nsExec(ns, argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Lines carrying the comment of service port `key` ("default/name:http"), quoted or not. */
export function linesForService(save: string, key: string): string[] {
  const re = new RegExp(`--comment "?${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[" ]`);
  return save.split('\n').filter((l) => re.test(l));
}

/** The DNAT destinations ("ip:port", "[v6]:port") programmed for service port `key`. */
export function dnatTargets(save: string, key: string): string[] {
  const out = new Set<string>();
  for (const l of linesForService(save, key)) {
    const m = / -j DNAT --to-destination (\S+)/.exec(l);
    if (m?.[1]) out.add(m[1]);
  }
  return [...out].sort();
}

/**
 * Waits until the nat table of `ns` DNATs service port `key` to exactly `targets` (ip:port, sorted
 * compare) and, when `clusterIP` is given, KUBE-SERVICES matches it.
 */
export async function waitForTargets(
  ns: string,
  key: string,
  targets: readonly string[],
  opts: { family?: 'IPv4' | 'IPv6'; timeoutMs?: number } = {},
): Promise<void> {
  const want = [...targets].sort().join(',');
  let last = '';
  await eventually(async () => {
    const save = await iptablesSave(ns, opts.family, 'nat');
    last = dnatTargets(save, key).join(',');
    return last === want;
  }, `${key} DNAT targets in ${ns} to become [${want}] (last [${last}])`, opts.timeoutMs ?? 20_000).catch((e: Error) => {
    throw new Error(`${e.message}; last seen [${last}]`);
  });
}

/** Waits until some line of `table` in `ns` matches `re`. */
export async function waitForRule(ns: string, table: string, re: RegExp, family: 'IPv4' | 'IPv6' = 'IPv4', timeoutMs = 20_000): Promise<string> {
  return eventually(async () => {
    const save = await iptablesSave(ns, family, table);
    return save.split('\n').find((l) => re.test(l));
  }, `a ${family} ${table} rule matching ${re} in ${ns}`, timeoutMs);
}

// ------------------------------------------------------------------------------------------------
// HTTP endpoints of a daemon (served inside its namespace, so fetched from there)

export async function healthz(ns: string, path = '/healthz'): Promise<number | string> {
  const r = await httpGet(ns, `http://127.0.0.1:${HEALTHZ_PORT}${path}`);
  return r.status ?? r.error ?? 'no answer';
}

export async function metricsText(ns: string): Promise<string> {
  const r = await httpGet(ns, `http://127.0.0.1:${METRICS_PORT}/metrics`);
  if (r.status !== 200) throw new Error(`metrics in ${ns}: ${r.status ?? r.error}`);
  return r.body ?? '';
}

/** Sum of all samples of `name` (any labels); 0 when absent. */
export function metricSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) total += Number(line.split(' ').pop());
  }
  return total;
}

export const DAEMON_ENTRY = DEFAULT_DAEMON_ENTRY;

/** Shares of each name in a tally over `total`. */
export function shares(t: Readonly<Record<string, number>>, total: number): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v / total]));
}
