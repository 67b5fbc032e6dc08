// How the userspace dataplane drives the iptables runner: portal payloads per family, jump rules
// added once, re-checked after a failure, and cleanup. The runner only records payloads.

import { afterEach, describe, expect, it } from 'vitest';
import { createUserspaceDataplane, type UserspaceDataplaneOptions } from '../../modes/userspace/dataplane.js';
import { memoryLogger, silentLogger } from '../../proxy/log.js';
import { ProxyMetrics } from '../../sync/metrics.js';
import { config, endpoint, recordingRunner, request, servicePort, state, type RecordingRunner } from '../unit/userspace/fixtures.js';
import { Resources } from '../unit/userspace/net-fixtures.js';

const res = new Resources();
afterEach(() => res.closeAll());

function make(runner: RecordingRunner, extra: Partial<UserspaceDataplaneOptions> = {}) {
  const dp = createUserspaceDataplane({
    config,
    runner,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    listenHost: '127.0.0.1',
    ...extra,
  });
  res.add({ close: async () => dp.close?.() });
  return dp;
}

const web = servicePort({ name: 'web', type: 'NodePort', nodePort: 30080, clusterIPs: ['198.19.0.10', 'fd00::10'] });
const s1 = state([[web, [endpoint('10.244.0.5', 8080)]]]);

async function listenerPort(dp: ReturnType<typeof make>, key: string): Promise<number> {
  return ((await dp.describe?.(key)) as { listener: { port: number } }).listener.port;
}

describe('userspace portals', () => {
  it('writes our chains with the listener port and adds the jump rules only once', async () => {
    const runner = recordingRunner();
    const dp = make(runner);
    const r1 = await dp.sync(request(s1));
    const port = await listenerPort(dp, web.key);
    expect(runner.saves).toEqual([{ family: 'IPv4', table: 'nat' }]);
    expect(runner.restores).toHaveLength(1);
    const first = runner.restores[0]!;
    expect(first.family).toBe('IPv4');
    expect(first.payload).toContain(
      `-A KUBE-PORTALS-CONTAINER -d 198.19.0.10/32 -p tcp -m comment --comment "default/web:p" -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:${port}`,
    );
    expect(first.payload).toContain(`-A KUBE-NODEPORT-HOST -p tcp -m comment --comment "default/web:p" -m tcp --dport 30080 -j DNAT --to-destination 127.0.0.1:${port}`);
    expect(first.payload).not.toContain('fd00::10');
    expect(first.payload.match(/^-A (PREROUTING|OUTPUT) /gm)).toHaveLength(4);
    expect(r1.stats).toMatchObject({ servicePorts: 1, opened: 1 });

    await dp.sync(request(s1));
    expect(runner.saves).toHaveLength(1);
    expect(runner.restores[1]!.payload).not.toMatch(/^-A (PREROUTING|OUTPUT) /m);
    expect(await listenerPort(dp, web.key)).toBe(port);
  });

  it('does not duplicate jump rules that already exist', async () => {
    const runner = recordingRunner();
    runner.saveOutput.set(
      'IPv4',
      [
        '*nat',
        '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
        '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
        '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "x" -j KUBE-NODEPORT-CONTAINER',
        '-A OUTPUT -m addrtype --dst-type LOCAL -j KUBE-NODEPORT-HOST',
        'COMMIT',
      ].join('\n'),
    );
    await make(runner).sync(request(s1));
    expect(runner.restores[0]!.payload).not.toMatch(/^-A (PREROUTING|OUTPUT) /m);
  });

  it('re-checks the jump rules after a failed restore', async () => {
    const runner = recordingRunner();
    let fail = true;
    const flaky: RecordingRunner = {
      ...runner,
      restore: async (family, payload) => {
        if (fail) throw new Error('iptables-restore: exit 1');
        await runner.restore(family, payload);
      },
    };
    const dp = make(flaky);
    await expect(dp.sync(request(s1))).rejects.toThrow(/exit 1/);
    fail = false;
    await dp.sync(request(s1));
    expect(runner.saves).toHaveLength(2);
    expect(runner.restores[0]!.payload.match(/^-A (PREROUTING|OUTPUT) /gm)).toHaveLength(4);
  });

  it('removes the rules of a deleted service port', async () => {
    const runner = recordingRunner();
    const dp = make(runner);
    await dp.sync(request(s1));
    const r = await dp.sync(request(state([])));
    expect(r.stats).toMatchObject({ servicePorts: 0, removed: 1 });
    expect(runner.restores[1]!.payload).toBe(
      '*nat\n:KUBE-PORTALS-CONTAINER - [0:0]\n:KUBE-PORTALS-HOST - [0:0]\n:KUBE-NODEPORT-CONTAINER - [0:0]\n:KUBE-NODEPORT-HOST - [0:0]\nCOMMIT\n',
    );
  });

  it('programs IPv6 portals for an IPv6 listener and warns about the family it cannot serve', async () => {
    const runner = recordingRunner();
    const { logger, lines } = memoryLogger();
    const dp = make(runner, { listenHost: '::1', families: ['IPv4', 'IPv6'], logger });
    await dp.sync(request(s1));
    const port = await listenerPort(dp, web.key);
    expect(runner.restores.map((r) => r.family)).toEqual(['IPv6']);
    expect(runner.restores[0]!.payload).toContain(`-d fd00::10/128 -p tcp -m comment --comment "default/web:p" -m tcp --dport 80 -j DNAT --to-destination [::1]:${port}`);
    expect(lines.some((l) => l.includes('"level":"warn"') && l.includes('IPv4'))).toBe(true);
  });

  it('cleanup removes only our chains and jumps, per family', async () => {
    const runner = recordingRunner();
    runner.saveOutput.set(
      'IPv4',
      [
        '*nat',
        ':KUBE-PORTALS-HOST - [0:0]',
        ':KUBE-SERVICES - [0:0]',
        '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
        '-A OUTPUT -j KUBE-SERVICES',
        'COMMIT',
      ].join('\n'),
    );
    const dp = make(runner, { families: ['IPv4', 'IPv6'] });
    await dp.cleanup();
    expect(runner.restores).toEqual([
      {
        family: 'IPv4',
        payload:
          '*nat\n:KUBE-PORTALS-HOST - [0:0]\n-D OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST\n-X KUBE-PORTALS-HOST\nCOMMIT\n',
      },
    ]);
    // Never the whole nat table (46 MiB of iptables-save text at 10,000 services in iptables
    // mode): the two built-in chains and our four, per family.
    expect(runner.saves).toEqual([]);
    const chains = ['PREROUTING', 'OUTPUT', 'KUBE-PORTALS-CONTAINER', 'KUBE-PORTALS-HOST', 'KUBE-NODEPORT-CONTAINER', 'KUBE-NODEPORT-HOST'];
    expect(runner.listed.map((l) => `${l.family} ${l.table} ${l.chain}`).sort()).toEqual(
      ['IPv4', 'IPv6'].flatMap((f) => chains.map((c) => `${f} nat ${c}`)).sort(),
    );
  });

  it('cleanup removes a chain of ours that no jump leads to (a cleanup interrupted half-way)', async () => {
    const runner = recordingRunner();
    runner.saveOutput.set('IPv4', '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-NODEPORT-HOST - [0:0]\n-A KUBE-NODEPORT-HOST -p tcp -j DNAT --to-destination 127.0.0.1:40000\nCOMMIT\n');
    const dp = make(runner);
    expect(await dp.cleanup()).toEqual({ removed: { chains: 1, rules: 0 } });
    expect(runner.restores).toEqual([{ family: 'IPv4', payload: '*nat\n:KUBE-NODEPORT-HOST - [0:0]\n-X KUBE-NODEPORT-HOST\nCOMMIT\n' }]);
  });

  it('describes a programmed service port', async () => {
    const runner = recordingRunner();
    const dp = make(runner);
    const sticky = servicePort({ name: 'api', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } });
    await dp.sync(
      request(
        state([
          [
            sticky,
            [endpoint('10.244.0.5', 8080), endpoint('10.244.0.6', 8080, { ready: false, serving: false }), endpoint('fd00::5', 8080)],
          ],
        ]),
      ),
    );
    expect(await dp.describe?.(sticky.key)).toEqual({
      mode: 'userspace',
      service: 'default/api:p',
      protocol: 'TCP',
      listener: { host: '127.0.0.1', port: expect.any(Number) },
      // Not-ready endpoints are skipped; IPv6 endpoints only when IPv6 is a configured family.
      endpoints: ['10.244.0.5:8080'],
      sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 },
      activeConnections: 0,
      // No dial of this port has timed out, so nothing is ejected.
      ejectedEndpoints: [],
    });
    expect(await dp.describe?.('default/nope:p')).toEqual({ mode: 'userspace', service: 'default/nope:p', listener: null, endpoints: [] });
  });
});
