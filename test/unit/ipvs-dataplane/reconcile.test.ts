import { describe, expect, it } from 'vitest';
import { buildDesired } from '../../../modes/ipvs/desired.js';
import { GracefulTerminationList } from '../../../modes/ipvs/graceful.js';
import { vsKey, type RealServer, type VirtualServer } from '../../../modes/ipvs/ops.js';
import { reconcile, type CurrentVirtualServer, type IpvsOperation } from '../../../modes/ipvs/reconcile.js';
import { ep, sp, state } from './fixtures.js';

const opts = { family: 'IPv4' as const, scheduler: 'rr', nodePortIPs: [] };
const VS: VirtualServer = { family: 'IPv4', protocol: 'TCP', address: '198.19.0.1', port: 80, scheduler: 'rr', flags: 0, timeoutSeconds: 0, netmask: 0xffffffff };
const rs = (address: string, weight = 1, active = 0, inactive = 0): RealServer => ({ address, port: 8080, weight, fwdMethod: 'Masq', activeConns: active, inactiveConns: inactive });
const cur = (vs: VirtualServer, list: RealServer[]): Map<string, CurrentVirtualServer> => new Map([[vsKey(vs), { vs, realServers: list }]]);
const fmt = (ops: IpvsOperation[]) =>
  ops.map((o) => ('rs' in o ? `${o.op} ${vsKey(o.vs)} ${o.rs.address}${'weight' in o.rs ? ' w' + o.rs.weight : ''}` : `${o.op} ${vsKey(o.vs)}`));

function run(desiredEps: string[], current: Map<string, CurrentVirtualServer>, g = new GracefulTerminationList(() => 0), owned = () => true, s = sp('a')) {
  const desired = buildDesired(state([[s, desiredEps.map((ip) => ep(ip))]]), opts);
  return reconcile({ desired: desired.virtualServers, current, scope: 'all', isOwned: owned, graceful: g });
}

describe('reconcile', () => {
  it('adds a missing VS, then its real servers', () => {
    expect(fmt(run(['10.0.0.1'], new Map()).ops)).toEqual(['addService TCP 198.19.0.1:80', 'addDestination TCP 198.19.0.1:80 10.0.0.1 w1']);
  });

  it('no-op when the kernel already matches', () => {
    expect(run(['10.0.0.1'], cur(VS, [rs('10.0.0.1')])).ops).toEqual([]);
  });

  it('updates a VS whose scheduler or persistence differs', () => {
    expect(fmt(run(['10.0.0.1'], cur({ ...VS, scheduler: 'wlc' }, [rs('10.0.0.1')])).ops)).toEqual(['updateService TCP 198.19.0.1:80']);
    const aff = sp('a', { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 30 } });
    const p = run(['10.0.0.1'], cur({ ...VS, flags: 1, timeoutSeconds: 10 }, [rs('10.0.0.1')]), undefined, undefined, aff);
    expect(fmt(p.ops)).toEqual(['updateService TCP 198.19.0.1:80']);
  });

  it('restores the weight of a real server that is desired again (revival)', () => {
    const g = new GracefulTerminationList(() => 0);
    g.replace(vsKey(VS), [{ address: '10.0.0.1', port: 8080 }]);
    const p = run(['10.0.0.1'], cur(VS, [rs('10.0.0.1', 0, 3)]), g);
    expect(fmt(p.ops)).toEqual(['updateDestination TCP 198.19.0.1:80 10.0.0.1 w1']);
    expect(p.draining.get(vsKey(VS))).toEqual([]);
  });

  it('deletes an idle real server at once', () => {
    expect(fmt(run([], cur(VS, [rs('10.0.0.1')])).ops)).toEqual(['deleteDestination TCP 198.19.0.1:80 10.0.0.1']);
  });

  it('deletes an owned VS no longer desired, but never a foreign one', () => {
    const foreign: VirtualServer = { ...VS, address: '192.168.50.1' };
    const current = new Map([...cur(VS, []), ...cur(foreign, [rs('10.9.9.9')])]);
    const desired = buildDesired(state([]), opts);
    const p = reconcile({ desired: desired.virtualServers, current, scope: 'all', isOwned: (v) => v.address === VS.address, graceful: new GracefulTerminationList(() => 0) });
    expect(fmt(p.ops)).toEqual(['deleteService TCP 198.19.0.1:80']);
  });

  it('only looks at virtual servers in scope', () => {
    const desired = buildDesired(state([[sp('a'), [ep('10.0.0.1')]], [sp('b', { clusterIPs: ['198.19.0.2'] }), [ep('10.0.0.2')]]]), opts);
    const p = reconcile({ desired: desired.virtualServers, current: new Map(), scope: new Set(['TCP 198.19.0.2:80']), isOwned: () => true, graceful: new GracefulTerminationList(() => 0) });
    expect(fmt(p.ops)).toEqual(['addService TCP 198.19.0.2:80', 'addDestination TCP 198.19.0.2:80 10.0.0.2 w1']);
  });

  it('orders service adds before destinations and deletions last', () => {
    const s2: VirtualServer = { ...VS, address: '198.19.0.9' };
    const desired = buildDesired(state([[sp('a'), [ep('10.0.0.1')]]]), opts);
    const p = reconcile({ desired: desired.virtualServers, current: cur(s2, []), scope: 'all', isOwned: () => true, graceful: new GracefulTerminationList(() => 0) });
    expect(p.ops.map((o) => o.op)).toEqual(['addService', 'addDestination', 'deleteService']);
  });
});

describe('graceful termination', () => {
  it('weight 0 while connections remain, deleted once they reach 0', () => {
    let now = 0;
    const g = new GracefulTerminationList(() => now, 60_000);
    const p1 = run([], cur(VS, [rs('10.0.0.1', 1, 2, 1)]), g);
    expect(fmt(p1.ops)).toEqual(['updateDestination TCP 198.19.0.1:80 10.0.0.1 w0']);
    g.replace(vsKey(VS), p1.draining.get(vsKey(VS))!);
    expect(g.size).toBe(1);

    now = 10_000;
    const p2 = run([], cur(VS, [rs('10.0.0.1', 0, 1, 1)]), g);
    expect(p2.ops).toEqual([]); // still draining, weight already 0
    g.replace(vsKey(VS), p2.draining.get(vsKey(VS))!);

    const p3 = run([], cur(VS, [rs('10.0.0.1', 0, 0, 0)]), g);
    expect(fmt(p3.ops)).toEqual(['deleteDestination TCP 198.19.0.1:80 10.0.0.1']);
    g.replace(vsKey(VS), p3.draining.get(vsKey(VS))!);
    expect(g.size).toBe(0);
  });

  it('deleted after the bounded wait even with connections', () => {
    let now = 0;
    const g = new GracefulTerminationList(() => now, 60_000);
    g.replace(vsKey(VS), run([], cur(VS, [rs('10.0.0.1', 1, 5)]), g).draining.get(vsKey(VS))!);
    now = 59_999;
    expect(run([], cur(VS, [rs('10.0.0.1', 0, 5)]), g).ops).toEqual([]);
    now = 60_000;
    expect(fmt(run([], cur(VS, [rs('10.0.0.1', 0, 5)]), g).ops)).toEqual(['deleteDestination TCP 198.19.0.1:80 10.0.0.1']);
  });

  it('UDP real servers are deleted immediately', () => {
    const udp: VirtualServer = { ...VS, protocol: 'UDP' };
    const p = run([], cur(udp, [rs('10.0.0.1', 1, 0, 7)]), undefined, undefined, sp('a', { protocol: 'UDP' }));
    expect(fmt(p.ops)).toEqual(['deleteDestination UDP 198.19.0.1:80 10.0.0.1']);
  });

  it('keeps the start time of a draining server across syncs', () => {
    let now = 0;
    const g = new GracefulTerminationList(() => now, 100);
    const k = { address: '10.0.0.1', port: 8080 };
    g.replace('v', [k]);
    now = 50;
    g.replace('v', [k, { address: '10.0.0.2', port: 8080 }]);
    now = 100;
    expect(g.expired('v', k)).toBe(true);
    expect(g.expired('v', { address: '10.0.0.2', port: 8080 })).toBe(false);
  });
});
