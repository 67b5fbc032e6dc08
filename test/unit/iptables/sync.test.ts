import { describe, expect, it } from 'vitest';
import type { ChangeSet, Endpoint, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { EMPTY_CHANGES } from '../../../proxy/model/types.js';
import { servicePortChains } from '../../../modes/iptables/names.js';
import { parseSave } from '../../../modes/iptables/save-parse.js';
import { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';
import { ep, harness, sp, state } from './fixtures.js';

function many(n: number, epsPer = 3): [ServicePort, Endpoint[]][] {
  return Array.from({ length: n }, (_, i) => {
    const ip = `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const eps = Array.from({ length: epsPer }, (_, j) => ep(`198.18.${(i % 200) + 1}.${j + 1}`));
    return [sp('ns', `svc${i}`, { clusterIPs: [ip] }), eps];
  });
}

function changes(...keys: string[]): ChangeSet {
  return { ...EMPTY_CHANGES, changed: new Set(keys) };
}

function withEntry(st: ProxyState, s: ServicePort, eps: Endpoint[] | undefined): ProxyState {
  const services = new Map(st.services);
  const endpoints = new Map(st.endpoints);
  if (eps === undefined) {
    services.delete(s.key);
    endpoints.delete(s.key);
  } else {
    services.set(s.key, s);
    endpoints.set(s.key, eps);
  }
  return { ...st, services, endpoints };
}

const last = (r: FakeIptablesRunner): string => r.restores.at(-1)?.payload ?? '';

describe('partial sync', () => {
  it('one endpoint change among 1,000 services rewrites only that service', async () => {
    const entries = many(1000);
    const h = harness();
    const st0 = state(entries);
    await h.dp.sync({ state: st0, changes: EMPTY_CHANGES, full: true });
    // The full sync may be cut into several restores (payload/pack.ts): compare with all of them.
    const fullBytes = h.runner.restores.reduce((a, r) => a + r.payload.length, 0);
    const savesAfterFull = h.runner.saveCalls;

    const [target, eps] = entries[500] as [ServicePort, Endpoint[]];
    const st1 = withEntry(st0, target, [...eps, ep('198.18.250.9')]);
    const res = await h.dp.sync({ state: st1, changes: changes(target.key), full: false });
    const payload = last(h.runner);
    expect(res.full).toBe(false);
    expect(h.runner.saveCalls).toBe(savesAfterFull); // never iptables-save on a partial sync
    expect(payload.length).toBeLessThan(3000);
    expect(payload.length * 100).toBeLessThan(fullBytes);
    expect(payload).toContain(`:${servicePortChains(target.key, 'TCP').svc} - [0:0]`);
    expect(payload).not.toContain('ns/svc499:');
    expect(payload).not.toContain('ns/svc501:');
    expect(payload).not.toContain('*filter');
    // Unchanged endpoint chains of the same service are not re-sent.
    expect(payload.match(/^:KUBE-SEP-/gm)).toHaveLength(1);
    const svcRules = parseSave(await h.runner.save('IPv4')).get('nat')?.get(servicePortChains(target.key, 'TCP').svc)?.rules ?? [];
    expect(svcRules.filter((r) => r.includes('KUBE-SEP-'))).toHaveLength(4);
  });

  it('service add and remove touch only dispatch lines and its own chains', async () => {
    const entries = many(20);
    const h = harness();
    const st0 = state(entries);
    await h.dp.sync({ state: st0, changes: EMPTY_CHANGES, full: true });
    const added = sp('ns', 'new', { clusterIPs: ['198.19.9.9'] });
    const st1 = withEntry(st0, added, [ep('198.18.9.1')]);
    await h.dp.sync({ state: st1, changes: changes(added.key), full: false });
    const addPayload = last(h.runner);
    const lines = addPayload.split('\n').filter((l) => /^-[ADIX] /.test(l));
    expect(lines.filter((l) => l.startsWith('-I KUBE-SERVICES 1 '))).toHaveLength(1);
    expect(lines.every((l) => l.includes('ns/new:') || l.startsWith('-A KUBE-SEP-') || l.startsWith('-A KUBE-SVC-'))).toBe(true);
    // The nodeports jump is still the last rule of nat KUBE-SERVICES.
    const svcs = parseSave(await h.runner.save('IPv4')).get('nat')?.get('KUBE-SERVICES')?.rules ?? [];
    expect(svcs.at(-1)).toContain('-j KUBE-NODEPORTS');
    expect(svcs).toHaveLength(22);

    await h.dp.sync({ state: st0, changes: { ...changes(added.key), removed: new Set([added.key]) }, full: false });
    const rm = last(h.runner);
    expect(rm).toMatch(/^-D KUBE-SERVICES .*ns\/new:p80 cluster IP/m);
    expect(rm.indexOf('-D KUBE-SERVICES')).toBeLessThan(rm.indexOf('-X '));
    expect(rm.match(/^-X /gm)).toHaveLength(2);
    const nat = parseSave(await h.runner.save('IPv4')).get('nat');
    expect(nat?.has(servicePortChains(added.key, 'TCP').svc)).toBe(false);
  });

  it('endpoints going away swaps nat rules for a filter REJECT with -D/-I', async () => {
    const s = sp('ns', 'a');
    const h = harness();
    const st0 = state([[s, [ep('198.18.1.1')]]]);
    await h.dp.sync({ state: st0, changes: EMPTY_CHANGES, full: true });
    await h.dp.sync({ state: withEntry(st0, s, []), changes: changes(s.key), full: false });
    const p = last(h.runner);
    expect(p).toMatch(/^-I KUBE-SERVICES 1 .*has no endpoints.*-j REJECT$/m);
    expect(p).toMatch(/^-D KUBE-SERVICES .*cluster IP/m);
  });

  it('a failed restore makes the next sync full and counts the failure', async () => {
    const entries = many(5);
    const h = harness();
    const st0 = state(entries);
    await h.dp.sync({ state: st0, changes: EMPTY_CHANGES, full: true });
    const [target] = entries[0] as [ServicePort, Endpoint[]];
    const st1 = withEntry(st0, target, [ep('198.18.7.7')]);
    h.runner.failNextRestore = 'boom';
    await expect(h.dp.sync({ state: st1, changes: changes(target.key), full: false })).rejects.toThrow('boom');
    const saves = h.runner.saveCalls;
    const res = await h.dp.sync({ state: st1, changes: EMPTY_CHANGES, full: false });
    expect(res.full).toBe(true);
    expect(h.runner.saveCalls).toBe(saves + 1);
    expect(last(h.runner)).toContain('198.18.7.7:8080');
    const metrics = await h.metrics.text();
    expect(metrics).toMatch(/kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total\{ip_family="IPv4"\} 1/);
    expect(metrics).toMatch(/kubeproxy_sync_proxy_rules_iptables_restore_failures_total\{ip_family="IPv4"\} 1/);
    expect(metrics).toMatch(/kubeproxy_sync_full_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} 2/);
  });

  it('a partial sync with nothing changed sends nothing', async () => {
    const h = harness();
    const st0 = state(many(3));
    await h.dp.sync({ state: st0, changes: EMPTY_CHANGES, full: true });
    const n = h.runner.restores.length;
    const res = await h.dp.sync({ state: st0, changes: EMPTY_CHANGES, full: false });
    expect(res.full).toBe(false);
    expect(h.runner.restores).toHaveLength(n);
  });
});

describe('full sync', () => {
  it('deletes stale service chains left by a previous process and keeps foreign chains', async () => {
    const h = harness();
    h.runner.load(
      'IPv4',
      [
        '*nat',
        ':KUBE-SVC-STALESTALESTALE1 - [0:0]',
        ':KUBE-SEP-STALESTALESTALE1 - [0:0]',
        ':CNI-FOREIGN - [0:0]',
        '-A KUBE-SVC-STALESTALESTALE1 -j KUBE-SEP-STALESTALESTALE1',
        '-A CNI-FOREIGN -s 10.0.0.0/8 -j RETURN',
        'COMMIT',
      ].join('\n'),
    );
    await h.dp.sync({ state: state(many(2)), changes: EMPTY_CHANGES, full: true });
    const nat = parseSave(await h.runner.save('IPv4')).get('nat');
    expect(nat?.has('KUBE-SVC-STALESTALESTALE1')).toBe(false);
    expect(nat?.has('KUBE-SEP-STALESTALESTALE1')).toBe(false);
    expect(nat?.get('CNI-FOREIGN')?.rules).toEqual(['-s 10.0.0.0/8 -j RETURN']);
  });

  it('does not duplicate jump rules on repeated full syncs and reports rule metrics', async () => {
    const h = harness();
    const st = state(many(2));
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    await h.dp.sync({ state: st, changes: EMPTY_CHANGES, full: true });
    const saved = parseSave(await h.runner.save('IPv4'));
    expect(saved.get('nat')?.get('PREROUTING')?.rules).toHaveLength(1);
    expect(saved.get('filter')?.get('INPUT')?.rules.length).toBe(4);
    const owned = [...(saved.get('nat')?.values() ?? [])].filter((c) => c.name.startsWith('KUBE-')).reduce((a, c) => a + c.rules.length, 0);
    const text = await h.metrics.text();
    expect(text).toContain(`kubeproxy_sync_proxy_rules_iptables_total{table="nat",ip_family="IPv4"} ${owned}`);
  });
});

describe('cleanup', () => {
  it('removes our rules and chains and leaves foreign state byte-identical', async () => {
    const foreign = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
      'COMMIT',
    ].join('\n');
    const h = harness();
    h.runner.load('IPv4', foreign);
    await h.dp.sync({ state: state(many(3)), changes: EMPTY_CHANGES, full: true });
    expect(await h.runner.save('IPv4', 'nat')).toContain('KUBE-SVC-');
    const before = await h.runner.save('IPv4', 'nat');
    expect(before).not.toBe(await new FakeIptablesRunner().save('IPv4', 'nat'));

    // A fresh dataplane (new process) cleans up from iptables-save alone.
    const fresh = harness();
    for (const f of ['IPv4', 'IPv6'] as const) fresh.runner.load(f, await h.runner.save(f));
    await fresh.dp.cleanup();
    const expected = new FakeIptablesRunner();
    expected.load('IPv4', foreign);
    expect(await fresh.runner.save('IPv4', 'nat')).toBe(await expected.save('IPv4', 'nat'));
    const filter = parseSave(await fresh.runner.save('IPv4', 'filter')).get('filter');
    expect([...(filter?.keys() ?? [])]).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'KUBE-FIREWALL']);
    expect(filter?.get('INPUT')?.rules).toEqual(['-j KUBE-FIREWALL']);
    expect(parseSave(await fresh.runner.save('IPv4', 'mangle')).get('mangle')?.has('KUBE-PROXY-CANARY')).toBe(false);
  });
});

describe('describe', () => {
  it('returns the chains rendered for one service port', async () => {
    const h = harness();
    const s = sp('ns', 'd');
    await h.dp.sync({ state: state([[s, [ep('198.18.1.1')]]]), changes: EMPTY_CHANGES, full: true });
    const d = (await h.dp.describe?.(s.key)) as { families: { chains: Record<string, string[]> }[] };
    expect(Object.keys(d.families[0]?.chains ?? {})).toContain(servicePortChains(s.key, 'TCP').svc);
  });
});
