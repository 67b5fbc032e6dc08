// After a sequence of scenarios against a live nftables-mode daemon (services added, changed and
// removed, endpoints churned, both families), `nft --json list table ip|ip6 kube-proxy` holds
// exactly what the model implies: the pure render of the daemon's own current state (fetched from
// /debug/state, rendered with the daemon's configuration) — every chain, set element and map entry,
// and nothing stale. An element injected behind the daemon's back is reported as stale.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNftOptions } from '../../modes/nftables/options.js';
import { renderService } from '../../modes/nftables/render/service.js';
import { renderSkeleton } from '../../modes/nftables/render/skeleton.js';
import { loadConfig } from '../../proxy/config/load.js';
import type { Endpoint, IPFamily, NodeInfo, ServicePort } from '../../proxy/model/types.js';
import { actualContents, diffContents, expectedContents, withClasses } from '../support/nft-model-match.js';
import { createCluster, httpGet, nsExec, requireRoot, type Cluster } from './harness/index.js';
import { eventually, METRICS_PORT, service, slice, startApi, startProxy, type Proxy, type SvcEndpoint, type TestEnv } from './iptables-helpers.js';
import { modeOps } from './mode-helpers.js';

interface DebugState {
  node: NodeInfo;
  localAddresses: string[];
  services: (ServicePort & { endpoints: Endpoint[] })[];
}

describe.skipIf(!requireRoot())('nftables mode: the kernel table is exactly what the model implies', () => {
  const m = modeOps('nftables');
  let c: Cluster;
  let env: TestEnv;
  let proxy: Proxy;
  const ep = (name: string): SvcEndpoint => ({ ip: c.pod(name).ipv4, nodeName: c.pod(name).nodeName });
  const ep6 = (name: string): SvcEndpoint => ({ ip: c.pod(name).ipv6, nodeName: c.pod(name).nodeName });
  const t = (name: string): string => `${c.pod(name).ipv4}:8080`;

  /** The table as nft shows it vs the render of the daemon's current model, per family. */
  async function differences(family: IPFamily): Promise<string[]> {
    const st = JSON.parse((await httpGet(c.nodes.a.ns, `http://127.0.0.1:${METRICS_PORT}/debug/state`)).body ?? '{}') as DebugState;
    const argv = m.flavour.args(c.nodes.a, proxy.kubeconfig);
    const config = loadConfig(argv).config;
    const o = buildNftOptions({ config, node: st.node, family, nodeIPs: st.localAddresses, localAddresses: st.localAddresses });
    const units = withClasses(family, [renderSkeleton(o), ...st.services.map(({ endpoints, ...sp }) => renderService(sp, endpoints, st.node, o))]);
    const r = await nsExec(c.nodes.a.ns, ['nft', '--json', 'list', 'table', family === 'IPv4' ? 'ip' : 'ip6', 'kube-proxy']);
    if (r.code !== 0) throw new Error(`nft --json list table: ${r.stderr}`);
    return diffContents(expectedContents(units), actualContents(r.stdout));
  }

  async function expectExact(): Promise<void> {
    let last: Record<string, string[]> = {};
    await eventually(async () => {
      last = { IPv4: await differences('IPv4'), IPv6: await differences('IPv6') };
      return last['IPv4']!.length === 0 && last['IPv6']!.length === 0;
    }, 'the kernel tables to match the model', 20_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(last, null, 1)}`);
    });
  }

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    const { api } = env;
    const dual = service({ name: 'web', clusterIP: '198.19.5.10', clusterIPs: ['198.19.5.10', '2001:db8:ff::5:10'], ipFamilies: ['IPv4', 'IPv6'] });
    dual.spec = { ...dual.spec, ipFamilyPolicy: 'RequireDualStack' };
    api.create(dual);
    api.create(slice('web', ['a1', 'b1'].map(ep)));
    api.create(slice('web', ['a1', 'b1'].map(ep6), { family: 'IPv6' }));
    api.create(service({ name: 'np', type: 'NodePort', clusterIP: '198.19.5.20', nodePort: 30520, externalIPs: ['198.18.200.52'] }));
    api.create(slice('np', ['a1', 'a2', 'b1'].map(ep)));
    api.create(
      service({
        name: 'lb',
        type: 'LoadBalancer',
        clusterIP: '198.19.5.30',
        nodePort: 30530,
        loadBalancerIngressIPs: ['198.18.200.53'],
        loadBalancerSourceRanges: ['198.18.0.0/24'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 31530,
      }),
    );
    api.create(slice('lb', ['a1', 'b2'].map(ep)));
    api.create(service({ name: 'sticky', clusterIP: '198.19.5.40', sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 30 }));
    api.create(slice('sticky', ['a2', 'b2'].map(ep)));
    api.create(service({ name: 'gone', clusterIP: '198.19.5.50', port: 53, targetPort: 8080, protocol: 'UDP' }));
    api.create(slice('gone', ['b1'].map(ep), { protocol: 'UDP' }));
    api.create(service({ name: 'empty', clusterIP: '198.19.5.60' }));
    proxy = await startProxy(env, c.nodes.a, {}, m.flavour);
    await m.waitForTargets(c.nodes.a.ns, 'default/web:http', [t('a1'), t('b1')]);
    await m.waitForTargets(c.nodes.a.ns, 'default/gone:http', [t('b1')]);
  });

  afterAll(async () => {
    await proxy?.stop();
    await env?.close();
    await c?.destroy();
  });

  it('after services added, changed and removed and endpoints churned: no stale chain, element or map entry', async () => {
    await expectExact();
    const { api } = env;
    // Endpoints churned in both families, a service's external IP and source range changed, its
    // traffic policy flipped, one service removed, one given endpoints.
    api.update(slice('web', ['a2', 'b2'].map(ep)));
    api.update(slice('web', ['a2'].map(ep6), { family: 'IPv6' }));
    api.update(service({ name: 'np', type: 'NodePort', clusterIP: '198.19.5.20', nodePort: 30521, externalIPs: ['198.18.200.54'] }));
    api.update(
      service({
        name: 'lb',
        type: 'LoadBalancer',
        clusterIP: '198.19.5.30',
        nodePort: 30530,
        loadBalancerIngressIPs: ['198.18.200.53'],
        loadBalancerSourceRanges: ['198.18.1.0/24', '203.0.113.0/25'],
      }),
    );
    api.update(slice('sticky', ['a1', 'b1', 'b2'].map(ep)));
    api.delete(api.get('services', 'default', 'gone') as never);
    api.create(slice('empty', ['b2'].map(ep)));
    await m.waitForTargets(c.nodes.a.ns, 'default/web:http', [t('a2'), t('b2')]);
    await m.waitForTargets(c.nodes.a.ns, 'default/empty:http', [t('b2')]);
    await m.waitForTargets(c.nodes.a.ns, 'default/gone:http', []);
    await expectExact();
  });

  it('reports an element injected behind the daemon (the comparison can fail)', async () => {
    const add = await nsExec(c.nodes.a.ns, ['nft', 'add', 'element', 'ip', 'kube-proxy', 'hairpin-endpoints', '{ 198.18.9.9 . 198.18.9.9 }']);
    expect(add.code, add.stderr).toBe(0);
    try {
      expect(await differences('IPv4')).toContain('set hairpin-endpoints: stale 198.18.9.9 . 198.18.9.9');
    } finally {
      await nsExec(c.nodes.a.ns, ['nft', 'delete', 'element', 'ip', 'kube-proxy', 'hairpin-endpoints', '{ 198.18.9.9 . 198.18.9.9 }']);
    }
  });
});
