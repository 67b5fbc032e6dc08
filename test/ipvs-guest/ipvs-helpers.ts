// Shared set-up for the IPVS end-to-end tests (test/ipvs-guest/*.test.ts). They run inside the
// kvm-run guest (scripts/test-ipvs-guest.sh), whose kernel has IPVS; the host kernel does not.
// Everything is built in network namespaces by the e2e harness, exactly as on the host; the
// apiserver, Service and log helpers are the iptables suite's, only the daemon's flags differ.

import { hostname } from 'node:os';
import { nsExec, type Daemon, type NodeHandle } from '../e2e/harness/index.js';
import {
  eventually,
  proxyArgs,
  startProxy,
  withFlags,
  logRecords,
  type ParsedLog,
  type Proxy,
  type ProxyOptions,
  type TestEnv,
} from '../e2e/iptables-helpers.js';

export {
  DAEMON_ENTRY,
  HEALTHZ_PORT,
  METRICS_PORT,
  eventually,
  logRecords,
  service,
  sleep,
  slice,
  startApi,
  type ParsedLog,
  type Proxy,
  type ProxyOptions,
  type SimpleService,
  type SvcEndpoint,
  type TestEnv,
} from '../e2e/iptables-helpers.js';

/** True inside the kvm-run guest, or when IPVS_E2E_FORCE=1 (a host whose kernel has IPVS). */
export function inIpvsGuest(): boolean {
  if (hostname() === 'kvm-run' || process.env['IPVS_E2E_FORCE'] === '1') return true;
  if (process.env['CI'] === 'true') throw new Error('IPVS E2E TESTS CANNOT RUN: not in the kvm-run guest (run scripts/test-ipvs-guest.sh)');
  process.stderr.write('\n!!! IPVS e2e tests skipped: not in the kvm-run guest (scripts/test-ipvs-guest.sh runs them)\n\n');
  return false;
}

/** The daemon's IPVS-mode command line; `extra` flags override defaults of the same name. */
export function ipvsArgs(node: NodeHandle, kubeconfig: string, extra: readonly string[] = []): string[] {
  const ipvs = [
    '--mode=ipvs',
    '--ipvs-min-sync-period=100ms',
    '--ipvs-sync-period=30s',
    // NodePort virtual servers only on the node's LAN address: keeps `ipvsadm -Ln` exact.
    '--nodeport-addresses=198.18.0.0/24',
  ];
  return proxyArgs(node, kubeconfig, withFlags(ipvs, extra));
}

/** Starts an IPVS-mode daemon in `node`'s namespace and waits (longer: emulated VM) for its first sync. */
export function startIpvsProxy(env: TestEnv, node: NodeHandle, opts: ProxyOptions = {}): Promise<Proxy> {
  return startProxy(env, node, opts, { args: ipvsArgs, firstSyncTimeoutMs: 120_000, stopGraceMs: 15_000 });
}

export const syncRecords = (d: Daemon): ParsedLog[] => logRecords(d).filter((r) => r.msg === 'synced proxy rules');

// ------------------------------------------------------------------------------------------------
// Reading IPVS state in a namespace

export interface AdmDest {
  readonly addr: string;
  readonly fwd: string;
  readonly weight: number;
  readonly active: number;
  readonly inactive: number;
}
export interface AdmService {
  /** "TCP 198.19.0.10:80" */
  readonly key: string;
  readonly sched: string;
  /** Persistence timeout in seconds, 0 when not persistent. */
  readonly persistent: number;
  readonly dests: AdmDest[];
}

/** `ipvsadm -Ln` output as services sorted by key, destinations sorted by address. */
export function parseIpvsadm(out: string): AdmService[] {
  const services: Array<{ key: string; sched: string; persistent: number; dests: AdmDest[] }> = [];
  for (const line of out.split('\n')) {
    const svc = /^(TCP|UDP|SCTP)\s+(\S+)\s+(\S+)(?:\s+persistent\s+(\d+))?/.exec(line);
    if (svc) {
      services.push({ key: `${svc[1]} ${svc[2]}`, sched: svc[3]!, persistent: svc[4] ? Number(svc[4]) : 0, dests: [] });
      continue;
    }
    const d = /^\s+->\s+(\S+)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (d && services.length) {
      services.at(-1)!.dests.push({ addr: d[1]!, fwd: d[2]!, weight: Number(d[3]), active: Number(d[4]), inactive: Number(d[5]) });
    }
  }
  for (const s of services) s.dests.sort((a, b) => a.addr.localeCompare(b.addr));
  return services.sort((a, b) => a.key.localeCompare(b.key));
}

export async function ipvsadm(ns: string): Promise<AdmService[]> {
  const r = await nsExec(ns, ['ipvsadm', '-Ln']);
  if (r.code !== 0) throw new Error(`ipvsadm -Ln in ${ns} exited ${r.code}: ${r.stderr}`);
  return parseIpvsadm(r.stdout);
}

/** A compact, comparable view: "TCP 1.2.3.4:80 rr [p600]" → ["ip:port Masq w1", ...]. */
export type IpvsView = Record<string, string[]>;

export function viewOf(services: readonly AdmService[]): IpvsView {
  const out: IpvsView = {};
  for (const s of services) {
    out[`${s.key} ${s.sched}${s.persistent ? ` p${s.persistent}` : ''}`] = s.dests.map((d) => `${d.addr} ${d.fwd} w${d.weight}`);
  }
  return out;
}

/** Waits until the IPVS table of `ns` (filtered by `pick`, default all) equals `want`. */
export async function waitForIpvs(ns: string, want: IpvsView, pick: (key: string) => boolean = () => true, timeoutMs = 60_000): Promise<void> {
  const wantText = JSON.stringify(sortView(want));
  let last = '';
  await eventually(async () => {
    const v = viewOf(await ipvsadm(ns));
    last = JSON.stringify(sortView(Object.fromEntries(Object.entries(v).filter(([k]) => pick(k)))));
    return last === wantText;
  }, 'IPVS table', timeoutMs, 300).catch((e: Error) => {
    throw new Error(`${e.message}\nwant ${wantText}\nlast ${last}`);
  });
}

function sortView(v: IpvsView): IpvsView {
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, [...(v[k] ?? [])].sort()]));
}

/** Addresses on `dev` (global scope), sorted; [] when the link does not exist. */
export async function linkAddresses(ns: string, dev: string): Promise<string[] | undefined> {
  const r = await nsExec(ns, ['ip', '-j', 'addr', 'show', 'dev', dev]);
  if (r.code !== 0) return undefined;
  const parsed = JSON.parse(r.stdout || '[]') as Array<{ addr_info?: Array<{ local?: string; scope?: string }> }>;
  return parsed.flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => a.local ?? '')).sort();
}

/** `ipset save` in `ns` parsed as set name → sorted entries. */
export async function ipsets(ns: string): Promise<Map<string, string[]>> {
  const r = await nsExec(ns, ['ipset', 'save']);
  if (r.code !== 0) throw new Error(`ipset save in ${ns}: ${r.stderr}`);
  const m = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t[0] === 'create' && t[1]) m.set(t[1], m.get(t[1]) ?? []);
    if (t[0] === 'add' && t[1] && t[2]) m.set(t[1], [...(m.get(t[1]) ?? []), t[2]]);
  }
  for (const v of m.values()) v.sort();
  return m;
}
