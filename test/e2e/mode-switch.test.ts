// Taking a node over from upstream kube-proxy, and switching --mode in place, with packets
// (issue #14). One scenario, written once (`step`), runs for every transition: while a long-lived
// TCP connection (opened under upstream's rules, before any daemon of ours ran) stays open and a
// client opens a new connection every 50 ms, the running daemon is stopped and one in the next
// mode started. After each step: the long-lived connection still echoes, no new connection failed,
// nothing of any other mode is left in the kernel (iptables-save of both families, nft list), and
// the foreign rules and tables planted at the start are byte-identical.
//
// The starting state is upstream's own output: the captured iptables-save/ip6tables-save of
// upstream kube-proxy v1.26 for the objects in ../shared/fixtures/upstream-1.26 (ClusterIPs
// 10.96.x rewritten to the test range 198.19.x, the same rewrite applied to the objects; chain
// names do not depend on addresses), loaded with iptables-restore before our daemon starts. The
// fixture's endpoint addresses are added to the echo pods, so upstream's rules really forward.
// Upstream's nftables table has no captured fixture: its starting state (last test) is built by
// hand from upstream's documented layout (../shared/reference/upstream-kube-proxy.md §4c).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { endpointChainName, servicePortChains } from '../../modes/iptables/names.js';
import { makeService } from '../apiserver/index.js';
import { DEFAULT_DAEMON_ENTRY, createCluster, nsExec, nsExecOk, openLongLived, requireRoot, rootSnapshot, type Cluster, type LongLived } from './harness/index.js';
import { track } from './harness/processes.js';
import { eventually, logRecords, proxyArgs, sleep, startApi, startProxy, withFlags, type Proxy, type ProxyFlavour, type TestEnv } from './iptables-helpers.js';
import { modeOps } from './mode-helpers.js';

type Mode = 'iptables' | 'userspace' | 'nftables';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(HERE, '../../../shared/fixtures/upstream-1.26');
const toTestRange = (text: string): string => text.replace(/\b10\.96\./g, '198.19.');

/** fixture/web: endpoints 198.18.1.2, 198.18.1.3 (node A), 198.18.2.4 (node B), port 8080. */
const WEB_IP = '198.19.98.168';
/** The fixture's endpoint addresses, given to the echo pods (kb-cap = node A, kb-other = node B). */
const EXTRA_ADDRESSES: ReadonlyArray<readonly [pod: string, ip: string]> = [
  ['a1', '198.18.1.2'],
  ['a1', '198.18.1.5'],
  ['a2', '198.18.1.3'],
  ['b1', '198.18.2.4'],
  ['b2', '198.18.2.6'],
];

const FLAVOURS: Record<Mode, ProxyFlavour> = {
  iptables: modeOps('iptables').flavour,
  nftables: modeOps('nftables').flavour,
  userspace: {
    args: (node, kubeconfig, extra = []) => withFlags(proxyArgs(node, kubeconfig), ['--mode=userspace', ...extra]),
    firstSyncTimeoutMs: 30_000,
    // A stopping userspace daemon writes iptables rules first (the hand-over): on a loaded host
    // that can take longer than the harness's default 5 s before SIGKILL.
    stopGraceMs: 20_000,
  },
};

/** Planted after upstream's rules and before any daemon of ours, as other programs would have. */
const FOREIGN: ReadonlyArray<readonly string[]> = [
  ['iptables-nft', '-t', 'filter', '-A', 'INPUT', '-s', '198.18.78.0/24', '-j', 'ACCEPT'],
  ['iptables-nft', '-t', 'nat', '-N', 'FOREIGN-NAT'],
  ['iptables-nft', '-t', 'nat', '-A', 'FOREIGN-NAT', '-d', '198.18.79.1/32', '-p', 'tcp', '-j', 'DNAT', '--to-destination', '198.18.79.2:81'],
  ['iptables-nft', '-t', 'nat', '-I', 'PREROUTING', '1', '-s', '198.18.79.0/24', '-j', 'FOREIGN-NAT'],
  ['ip6tables-nft', '-t', 'filter', '-A', 'INPUT', '-s', '2001:db8:78::/48', '-j', 'ACCEPT'],
  ['nft', 'add', 'table', 'inet', 'foreign'],
  ['nft', 'add', 'chain', 'inet', 'foreign', 'input', '{ type filter hook input priority 0; policy accept; }'],
  ['nft', 'add', 'rule', 'inet', 'foreign', 'input', 'ip saddr 198.18.77.0/24 counter accept'],
];

// ------------------------------------------------------------------------------------------------
// What each mode leaves in the kernel, read back from the kernel

/** Chains iptables mode creates (any family/table); KUBE-FIREWALL is kubelet's too and is kept. */
const IPTABLES_CHAIN = /^(KUBE-(SERVICES|NODEPORTS|POSTROUTING|MARK-MASQ|PROXY-CANARY|EXTERNAL-SERVICES|FORWARD|PROXY-FIREWALL)|KUBE-(SVC|SVL|SEP|EXT|FW)-[A-Z0-9]{16})$/;
const USERSPACE_CHAIN = /^KUBE-(PORTALS|NODEPORT)-(CONTAINER|HOST)$/;

async function save(ns: string, family: 'IPv4' | 'IPv6'): Promise<string> {
  return (await nsExecOk(ns, [family === 'IPv4' ? 'iptables-nft-save' : 'ip6tables-nft-save'])).stdout;
}

/** `table/chain` for every chain declared in either family's iptables-save. */
async function chains(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    let table = '';
    for (const l of (await save(ns, family)).split('\n')) {
      if (l.startsWith('*')) table = l.slice(1);
      const m = /^:(\S+) /.exec(l);
      if (m) out.push(`${family}/${table}/${m[1]}`);
    }
  }
  return out;
}

interface Artefacts {
  readonly iptables: string[];
  readonly userspace: string[];
  readonly nftables: string[];
}

async function artefacts(ns: string): Promise<Artefacts> {
  const all = await chains(ns);
  const tables = (await nsExecOk(ns, ['nft', 'list', 'tables'])).stdout.split('\n').filter((l) => /^table ip6? kube-proxy$/.test(l));
  return {
    iptables: all.filter((c) => IPTABLES_CHAIN.test(c.split('/')[2]!)),
    userspace: all.filter((c) => USERSPACE_CHAIN.test(c.split('/')[2]!)),
    nftables: tables,
  };
}

/** Foreign state: every iptables line not of a kube mode, the foreign nft table, the table list. */
async function foreignView(ns: string): Promise<string> {
  const parts: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    const lines = (await save(ns, family)).split('\n').filter((l) => !l.startsWith('#') && !/KUBE-/.test(l));
    // Built-in chains' packet counters move with traffic; everything else must stay as it was.
    parts.push(lines.map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1')).join('\n'));
  }
  parts.push((await nsExecOk(ns, ['nft', 'list', 'table', 'inet', 'foreign'])).stdout.replace(/packets \d+ bytes \d+/g, ''));
  parts.push((await nsExecOk(ns, ['nft', 'list', 'tables'])).stdout.split('\n').filter((l) => !/^table ip6? kube-proxy$/.test(l)).join('\n'));
  return parts.join('\n----\n');
}

// ------------------------------------------------------------------------------------------------
// The client that opens a new connection every 50 ms

interface LoopResult {
  readonly attempts: number;
  readonly failures: ReadonlyArray<{ at: number; error: string }>;
  readonly names: Readonly<Record<string, number>>;
}

async function startLoop(ns: string, ip: string, port: number): Promise<{ stop(): Promise<LoopResult> }> {
  const spec = { ip, port, intervalMs: 50, timeoutMs: 2000 };
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(HERE, 'mode-switch-loop.mjs'), JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  track(child, ns);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'STARTED') throw new Error(`loop client did not start: ${String(first.value)}`);
  return {
    async stop() {
      child.stdin.write('stop\n');
      const r = await lines.next();
      return JSON.parse(String(r.value)) as LoopResult;
    },
  };
}

// ------------------------------------------------------------------------------------------------

/** Upstream's nftables table for fixture/web, as upstream lays it out (built by hand, see above). */
function upstreamNftTable(): string {
  const id = `${servicePortChains('fixture/web:http', 'TCP').svc.slice('KUBE-SVC-'.length, 'KUBE-SVC-'.length + 8)}-fixture/web/tcp/http`;
  const eps = ['198.18.1.2', '198.18.1.3', '198.18.2.4'];
  const epChain = (ip: string): string => `endpoint-${ip.replace(/\./g, '').slice(-8).padStart(8, 'X')}-fixture/web/tcp/http__${ip}/8080`;
  return [
    'table ip kube-proxy {',
    '  comment "rules for kube-proxy"',
    '  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"; }',
    '  map service-nodeports { type inet_proto . inet_service : verdict; comment "NodePort traffic"; }',
    '  map no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to services with no endpoints"; }',
    '  set cluster-ips { type ipv4_addr; comment "Active ClusterIPs"; }',
    '  chain filter-prerouting { type filter hook prerouting priority dstnat - 10; policy accept; ct state new jump firewall-check; }',
    '  chain filter-input { type filter hook input priority -110; policy accept; ct state new jump service-endpoints-check; }',
    '  chain filter-forward { type filter hook forward priority -110; policy accept; ct state new jump service-endpoints-check; }',
    '  chain filter-output { type filter hook output priority -110; policy accept; ct state new jump service-endpoints-check; ct state new jump firewall-check; }',
    '  chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }',
    '  chain nat-output { type nat hook output priority -100; policy accept; jump services; }',
    '  chain nat-postrouting { type nat hook postrouting priority srcnat; policy accept; jump masquerading; }',
    '  chain firewall-check { }',
    '  chain reject-chain { reject; }',
    '  chain service-endpoints-check { ip daddr . meta l4proto . th dport vmap @no-endpoint-services; }',
    '  chain mark-for-masquerade { mark set mark or 0x4000; }',
    '  chain masquerading { mark and 0x4000 == 0 return; mark set mark xor 0x4000; masquerade fully-random; }',
    ...eps.map((ip) => `  chain ${epChain(ip)} { ip saddr ${ip} jump mark-for-masquerade; meta l4proto tcp dnat to ${ip}:8080; }`),
    `  chain service-${id} { ip daddr ${WEB_IP} tcp dport 80 ip saddr != 198.18.0.0/16 jump mark-for-masquerade; numgen random mod 3 vmap { ${eps.map((ip, i) => `${i} : goto ${epChain(ip)}`).join(', ')} }; }`,
    '  chain services { ip daddr . meta l4proto . th dport vmap @service-ips; fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports; }',
    '}',
    `add element ip kube-proxy service-ips { ${WEB_IP} . tcp . 80 : goto service-${id} }`,
    `add element ip kube-proxy cluster-ips { ${WEB_IP} }`,
    '',
  ].join('\n');
}

describe.skipIf(!requireRoot())('taking over from upstream kube-proxy, and switching modes in place', () => {
  let c: Cluster;
  let env: TestEnv;
  let proxy: Proxy | undefined;
  let conn: LongLived | undefined;
  let foreignBefore = '';
  let rootBefore: Awaited<ReturnType<typeof rootSnapshot>>;
  const exitCodes: number[] = [];
  const node = (): string => c.nodes.a.ns;

  beforeAll(async () => {
    rootBefore = await rootSnapshot();
    // The fixture's node names: its rules (externalTrafficPolicy Local) depend on them.
    c = await createCluster({ nodeNames: { a: 'kb-cap', b: 'kb-other' } });
    for (const [pod, ip] of EXTRA_ADDRESSES) {
      const p = c.pod(pod);
      const nodeNs = p.node === 'a' ? c.nodes.a.ns : c.nodes.b.ns;
      await nsExecOk(p.ns, ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
      await nsExecOk(nodeNs, ['ip', 'route', 'add', `${ip}/32`, 'dev', `v${pod}`]);
    }
    env = await startApi(c);
    type Served = { kind: string; metadata: { name: string; namespace: string; labels?: Record<string, string> } };
    const served = parseYaml(toTestRange(readFileSync(join(FIXTURE, 'objects-as-served.yaml'), 'utf8'))) as { items: Served[] };
    // fixture/sticky was deleted while no proxy ran: upstream's chains for it are left behind and
    // ours must remove them (the rest have the same names and are adopted).
    for (const o of served.items.filter((i) => !/^sticky/.test(i.metadata.name))) {
      // The server's own fields (uid, resourceVersion, last-applied annotation) are not carried over.
      const { name, namespace, labels } = o.metadata;
      env.api.create({ ...o, metadata: { name, namespace, ...(labels ? { labels } : {}) } } as Served);
    }
    // The default `kubernetes` Service (no endpoints here) is in upstream's rules too.
    env.api.create(makeService({ name: 'kubernetes', namespace: 'default', clusterIP: '198.19.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] }));

    // Upstream kube-proxy ran here and was stopped without cleanup: its rules, exactly.
    for (const [file, bin] of [['iptables-save.txt', 'iptables-nft-restore'], ['ip6tables-save.txt', 'ip6tables-nft-restore']] as const) {
      const text = toTestRange(readFileSync(join(FIXTURE, file), 'utf8'));
      const r = await nsExec(node(), [bin], { input: text });
      if (r.code !== 0) throw new Error(`${bin} of the upstream fixture: ${r.stderr}`);
    }
    for (const argv of FOREIGN) await nsExecOk(node(), argv);
    foreignBefore = await foreignView(node());
  });

  afterAll(async () => {
    await conn?.close();
    if (proxy) exitCodes.push(await proxy.stop());
    await env?.close();
    await c?.destroy();
    expect(await rootSnapshot()).toEqual(rootBefore);
    expect(exitCodes.every((code) => code === 0), `daemon exit codes ${exitCodes.join(',')}`).toBe(true);
  });

  /**
   * The scenario: stop whatever runs (nothing at the takeover), start `mode`, wait until every other
   * mode's objects are gone, then check the connections, the kernel and the foreign state.
   */
  async function step(mode: Mode): Promise<void> {
    const loop = await startLoop(c.client.ns, WEB_IP, 80);
    let result: LoopResult | undefined;
    try {
      await sleep(200);
      if (proxy) {
        exitCodes.push(await proxy.stop(true));
      }
      const bridge = proxy?.bridge;
      proxy = undefined;
      proxy = await startProxy(env, c.nodes.a, bridge ? { bridge } : {}, FLAVOURS[mode]);
      const others = (a: Artefacts): string[] => (['iptables', 'userspace', 'nftables'] as const).filter((m) => m !== mode).flatMap((m) => a[m]);
      let last: Artefacts | undefined;
      await eventually(async () => {
        last = await artefacts(node());
        return others(last).length === 0;
      }, `only ${mode}'s objects left`, 20_000).catch((e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(last)}`);
      });
      expect(last![mode].length, `${mode} programmed nothing`).toBeGreaterThan(0);
      await sleep(300);
    } finally {
      result = await loop.stop();
    }
    expect(result.failures, `new connections that failed (of ${result.attempts})`).toEqual([]);
    expect(result.attempts).toBeGreaterThan(10);
    expect(Object.keys(result.names).sort()).toEqual(['a1', 'a2', 'b1']);
    expect(await conn!.request(`after ${mode}`)).toBe(`after ${mode}`);
    expect(conn!.isClosed()).toBe(false);
    expect(await foreignView(node())).toEqual(foreignBefore);
  }

  it("adopts upstream's iptables chains (same names) in its first restore and removes the rest, with no gap", async () => {
    const upstreamNat = await save(node(), 'IPv4');
    // Our chain names are upstream's: the same hash of the same inputs.
    for (const [key, proto] of [['fixture/web:http', 'TCP'], ['fixture/multi:dns', 'UDP'], ['fixture/lb:http', 'TCP']] as const) {
      const names = servicePortChains(key, proto);
      expect(upstreamNat).toContain(`:${names.svc} `);
    }
    expect(upstreamNat).toContain(`:${servicePortChains('fixture/lb:http', 'TCP').fw} `);
    expect(upstreamNat).toContain(`:${servicePortChains('fixture/term:http', 'TCP').svl} `);
    expect(upstreamNat).toContain(`:${endpointChainName('fixture/web:http', 'TCP', '198.18.1.2:8080')} `);

    conn = openLongLived(c.client.ns, WEB_IP, 80);
    expect(['a1', 'a2', 'b1']).toContain((await conn.connected).name);
    expect(await conn.request('under upstream')).toBe('under upstream');
    await step('iptables');
    const ours = await save(node(), 'IPv4');
    const declared = (text: string): Set<string> => new Set(text.split('\n').flatMap((l) => /^:(KUBE-\S+) /.exec(l)?.slice(1) ?? []));
    const sticky = [servicePortChains('fixture/sticky:http', 'TCP').svc, ...['198.18.1.2', '198.18.1.3'].map((ip) => endpointChainName('fixture/sticky:http', 'TCP', `${ip}:8080`))];
    for (const ch of sticky) expect(upstreamNat, ch).toContain(`:${ch} `);
    // Every chain upstream had is ours now (same name), except the deleted Service's, which went.
    const mine = declared(ours);
    expect([...declared(upstreamNat)].filter((ch) => !mine.has(ch)).sort()).toEqual([...sticky].sort());
    // And the chains we added are only the ones upstream v1.26 does not write (kubelet's KUBE-FIREWALL).
    expect([...mine].filter((ch) => !declared(upstreamNat).has(ch))).toEqual(['KUBE-FIREWALL']);
    expect(logRecords(proxy!.daemon).filter((r) => r.msg === 'synced proxy rules').length).toBeGreaterThan(0);
  });

  // Every ordered pair of the three modes once: iptables → userspace → iptables, then
  // iptables → nftables → userspace → nftables → iptables.
  for (const [from, to] of [
    ['iptables', 'userspace'],
    ['userspace', 'iptables'],
    ['iptables', 'nftables'],
    ['nftables', 'userspace'],
    ['userspace', 'nftables'],
    ['nftables', 'iptables'],
  ] as const) {
    it(`${from} → ${to}`, async () => {
      expect(proxy, 'the previous step left a daemon running').toBeDefined();
      await step(to);
    });
  }

  it("takes over upstream's nftables table (documented layout, no captured fixture) with --mode=nftables", async () => {
    exitCodes.push(await proxy!.stop(true));
    const bridge = proxy!.bridge;
    proxy = undefined;
    // Leave only upstream's nftables state behind: ours goes (--cleanup), upstream's is loaded.
    const cleanup = await nsExec(node(), [process.execPath, DEFAULT_DAEMON_ENTRY, '--cleanup']);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(await artefacts(node())).toEqual({ iptables: [], userspace: [], nftables: [] });
    const r = await nsExec(node(), ['nft', '-f', '-'], { input: upstreamNftTable() });
    expect(r.code, r.stderr).toBe(0);
    const fresh = openLongLived(c.client.ns, WEB_IP, 80);
    expect(['a1', 'a2', 'b1']).toContain((await fresh.connected).name);
    const loop = await startLoop(c.client.ns, WEB_IP, 80);
    let result: LoopResult;
    try {
      await sleep(200);
      proxy = await startProxy(env, c.nodes.a, { bridge }, FLAVOURS.nftables);
      await sleep(300);
    } finally {
      result = await loop.stop();
    }
    expect(result.failures, `new connections that failed (of ${result.attempts})`).toEqual([]);
    expect(await fresh.request('after takeover')).toBe('after takeover');
    expect(await conn!.request('after nft takeover')).toBe('after nft takeover');
    await fresh.close();
    const table = (await nsExecOk(node(), ['nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout;
    // Upstream's objects that we do not create are gone; the cluster-ips set (upstream's name,
    // which we create too for cluster-ips-check) is adopted, not doubled.
    expect(table).not.toMatch(/chain endpoint-/);
    expect(table.match(/set cluster-ips \{/g) ?? []).toHaveLength(1);
    expect(await foreignView(node())).toEqual(foreignBefore);
  });
});
