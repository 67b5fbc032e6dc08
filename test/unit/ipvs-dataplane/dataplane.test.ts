import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../proxy/log.js';
import type { ChangeSet, ProxyState } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { createIpvsDataplane } from '../../../modes/ipvs/dataplane.js';
import type { VirtualServer } from '../../../modes/ipvs/ops.js';
import { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';
import { FakeIpset, FakeIpvs, FakeLink, NODE_IP, config, ep, inertConntrack, sp, state } from './fixtures.js';

const NO_CHANGES: ChangeSet = { changed: new Set(), removed: new Set(), nodeChanged: false, triggerTimes: [] };
const changed = (...keys: string[]): ChangeSet => ({ ...NO_CHANGES, changed: new Set(keys) });

async function harness(edit?: Parameters<typeof config>[0]) {
  const ipvs = new FakeIpvs();
  const runner = new FakeIptablesRunner();
  const ipset = new FakeIpset();
  const link = new FakeLink();
  const metrics = new ProxyMetrics({ processMetrics: false });
  const sysctls: string[] = [];
  let now = 0;
  const dp = await createIpvsDataplane({
    config: config(edit),
    logger: silentLogger,
    metrics,
    families: ['IPv4'],
    nodeIPs: () => ['127.0.0.1', NODE_IP, ...link.addrs],
    ipvs,
    runner,
    ipset,
    link,
    sysctl: async (n, v) => void sysctls.push(`${n}=${v}`),
    clock: () => now,
    conntrack: inertConntrack,
  });
  return { dp, ipvs, runner, ipset, link, metrics, sysctls, tick: (ms: number) => void (now += ms) };
}

const gauge = async (m: ProxyMetrics, name: string) =>
  (await m.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.ip_family === 'IPv4')?.value;

describe('createIpvsDataplane', () => {
  it('first sync programs link, ipsets, iptables and IPVS', async () => {
    const h = await harness((d) => void (d.ipvs.strictARP = true));
    const s = sp('a', { type: 'NodePort', nodePort: 30080 });
    const r = await h.dp.sync({ state: state([[s, [ep('10.0.0.1'), ep('10.0.0.2')]]]), changes: changed(s.key), full: false });
    expect(r.full).toBe(true);
    expect([...h.link.addrs]).toEqual(['198.19.0.1']);
    expect([...h.ipvs.table.keys()].sort()).toEqual([`TCP ${NODE_IP}:30080`, 'TCP 198.19.0.1:80']);
    expect(h.ipvs.realServers({ family: 'IPv4', protocol: 'TCP', address: '198.19.0.1', port: 80 }).map((x) => x.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect([...h.ipset.sets.get('KUBE-CLUSTER-IP')!.entries]).toEqual(['198.19.0.1,tcp:80']);
    expect([...h.ipset.sets.get('KUBE-NODE-PORT-TCP')!.entries]).toEqual(['30080']);
    expect(h.runner.tables('IPv4').get('nat')!.get('PREROUTING')!.rules).toHaveLength(1);
    expect(h.sysctls).toContain('net.ipv4.conf.all.arp_ignore=1');
    expect(h.sysctls).toContain('net.ipv4.vs.conntrack=1');
    expect(await gauge(h.metrics, 'kubeproxy_ts_ipvs_virtual_servers')).toBe(2);
    expect(await gauge(h.metrics, 'kubeproxy_ts_ipvs_real_servers')).toBe(4);
    expect(await h.dp.describe!(s.key)).toMatchObject({ IPv4: [{ virtualServer: 'TCP 198.19.0.1:80', kind: 'clusterIP' }, { kind: 'nodePort' }] });
  });

  it('one endpoint change among 1,000 services costs one IPVS operation (O(change))', async () => {
    const h = await harness();
    const svcs = Array.from({ length: 1000 }, (_, i) => sp(`s${i}`, { clusterIPs: [`198.19.${i >> 8}.${i & 255}`] }));
    const entries = (extra: string[]) => svcs.map((s, i) => [s, [ep(`10.1.${i >> 8}.${i & 255}`), ...(i === 500 ? extra.map((x) => ep(x)) : [])]] as [typeof s, ReturnType<typeof ep>[]]);
    await h.dp.sync({ state: state(entries([])), changes: NO_CHANGES, full: true });
    expect(h.ipvs.table.size).toBe(1000);
    const restoresAfterFull = h.runner.restores.length;
    const ipsetRestoresAfterFull = h.ipset.restores.length;

    let before = h.ipvs.operations;
    const dumps = h.ipvs.listServicesCalls;
    await h.dp.sync({ state: state(entries(['10.9.9.9'])), changes: changed(svcs[500]!.key), full: false });
    expect(h.ipvs.operations - before).toBe(1);
    expect(h.ipvs.listServicesCalls).toBe(dumps); // the record answers; no dump of all 1,000

    before = h.ipvs.operations;
    await h.dp.sync({ state: state(entries([])), changes: changed(svcs[500]!.key), full: false });
    expect(h.ipvs.operations - before).toBe(1);
    // Partial syncs leave the constant iptables rules alone and write no ipset deltas here.
    expect(h.runner.restores.length).toBe(restoresAfterFull);
    expect(h.ipset.restores.length).toBe(ipsetRestoresAfterFull);
  });

  it('a virtual server deleted behind its back fails the partial sync; the full retry restores it', async () => {
    const h = await harness();
    const a = sp('a');
    await h.dp.sync({ state: state([[a, [ep('10.0.0.1')]]]), changes: NO_CHANGES, full: true });
    await h.ipvs.deleteService({ family: 'IPv4', protocol: 'TCP', address: '198.19.0.1', port: 80 });
    const next = state([[a, [ep('10.0.0.1'), ep('10.0.0.2')]]]);
    await expect(h.dp.sync({ state: next, changes: changed(a.key), full: false })).rejects.toThrow(/ESRCH/);
    await h.dp.sync({ state: next, changes: NO_CHANGES, full: true });
    expect(h.ipvs.realServers({ family: 'IPv4', protocol: 'TCP', address: '198.19.0.1', port: 80 }).map((x) => x.address)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('never touches a foreign virtual server; deletes a stale NodePort VS a previous process left', async () => {
    const h = await harness();
    const base: VirtualServer = { family: 'IPv4', protocol: 'TCP', address: '192.168.50.1', port: 80, scheduler: 'rr', flags: 0, timeoutSeconds: 0, netmask: 0xffffffff };
    h.ipvs.seed(base, [{ address: '10.9.9.9', port: 80, weight: 1, fwdMethod: 'Masq' }]);
    h.ipvs.seed({ ...base, address: NODE_IP, port: 31000 });
    h.ipvs.seed({ ...base, address: NODE_IP, port: 22 }); // on a node IP but not one of our node ports
    await h.ipset.restore('create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nadd KUBE-NODE-PORT-TCP 31000\n');
    await h.dp.sync({ state: state([[sp('a'), [ep('10.0.0.1')]]]), changes: NO_CHANGES, full: true });
    expect([...h.ipvs.table.keys()].sort()).toEqual(['TCP 192.168.50.1:80', `TCP ${NODE_IP}:22`, 'TCP 198.19.0.1:80']);
    expect(h.ipvs.realServers(base)).toHaveLength(1);
  });

  it('drains a removed endpoint with connections, then deletes it when idle; revival restores weight', async () => {
    const h = await harness();
    const s = sp('a');
    const vs = { family: 'IPv4' as const, protocol: 'TCP' as const, address: '198.19.0.1', port: 80 };
    await h.dp.sync({ state: state([[s, [ep('10.0.0.1'), ep('10.0.0.2')]]]), changes: NO_CHANGES, full: true });
    h.ipvs.setConns(vs, { address: '10.0.0.2', port: 8080 }, 3);
    await h.dp.sync({ state: state([[s, [ep('10.0.0.1')]]]), changes: changed(s.key), full: false });
    expect(h.ipvs.realServers(vs).map((r) => `${r.address}/${r.weight}`)).toEqual(['10.0.0.1/1', '10.0.0.2/0']);

    // Comes back before deletion: weight restored.
    await h.dp.sync({ state: state([[s, [ep('10.0.0.1'), ep('10.0.0.2')]]]), changes: changed(s.key), full: false });
    expect(h.ipvs.realServers(vs).map((r) => `${r.address}/${r.weight}`)).toEqual(['10.0.0.1/1', '10.0.0.2/1']);

    await h.dp.sync({ state: state([[s, [ep('10.0.0.1')]]]), changes: changed(s.key), full: false });
    h.tick(5_000);
    await h.dp.sync({ state: state([[s, [ep('10.0.0.1')]]]), changes: NO_CHANGES, full: false });
    expect(h.ipvs.realServers(vs)).toHaveLength(2); // still draining
    h.ipvs.setConns(vs, { address: '10.0.0.2', port: 8080 }, 0, 0);
    // A partial sync with no service changes still re-checks draining servers.
    await h.dp.sync({ state: state([[s, [ep('10.0.0.1')]]]), changes: NO_CHANGES, full: false });
    expect(h.ipvs.realServers(vs).map((r) => r.address)).toEqual(['10.0.0.1']);
  });

  it('a removed service loses its VS and its VIP', async () => {
    const h = await harness();
    const a = sp('a');
    const b = sp('b', { clusterIPs: ['198.19.0.2'] });
    await h.dp.sync({ state: state([[a, []], [b, []]]), changes: NO_CHANGES, full: true });
    await h.dp.sync({ state: state([[a, []]]), changes: { ...changed(b.key), removed: new Set([b.key]) }, full: false });
    expect([...h.ipvs.table.keys()]).toEqual(['TCP 198.19.0.1:80']);
    expect([...h.link.addrs]).toEqual(['198.19.0.1']);
  });

  it('cleanup removes only our state, also from a fresh process', async () => {
    const h = await harness();
    const foreign: VirtualServer = { family: 'IPv4', protocol: 'TCP', address: '192.168.50.1', port: 80, scheduler: 'rr', flags: 0, timeoutSeconds: 0, netmask: 0xffffffff };
    h.ipvs.seed(foreign);
    const st: ProxyState = state([[sp('a', { type: 'NodePort', nodePort: 30080 }), [ep('10.0.0.1')]]]);
    await h.dp.sync({ state: st, changes: NO_CHANGES, full: true });
    expect(h.ipvs.table.size).toBe(3);

    const fresh = await createIpvsDataplane({
      config: config(), logger: silentLogger, metrics: h.metrics, families: ['IPv4'], nodeIPs: () => [NODE_IP],
      ipvs: h.ipvs, runner: h.runner, ipset: h.ipset, link: h.link, conntrack: inertConntrack,
    });
    await fresh.cleanup();
    expect([...h.ipvs.table.keys()]).toEqual(['TCP 192.168.50.1:80']);
    expect(h.link.exists).toBe(false);
    expect(h.ipset.sets.size).toBe(0);
    const chains = [...h.runner.tables('IPv4').get('nat')!.keys(), ...h.runner.tables('IPv4').get('filter')!.keys()];
    expect(chains.filter((c) => c.startsWith('KUBE-'))).toEqual([]);
  });
});
