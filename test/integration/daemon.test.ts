// The real daemon process against the stand-in apiserver, in the noop dataplane (no privileges):
// what it reports on /debug/state, /metrics and /healthz follows the cluster, survives dropped
// watches and 410 Gone without ever dropping programmed services, and skips malformed Services.

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApiServer, kubeconfigFor, makeEndpointSlice, makeNode, makeService } from '../apiserver/index.js';
import { DaemonProcess, MAIN_JS, eventually, writeTempFile } from './daemon-process.js';

interface StateJson {
  services: { key: string; clusterIPs: string[]; externalIPs: string[]; port: number; endpoints: { ip: string; ready: boolean }[] }[];
  rejected: { kind: string; namespace: string; name: string; errors: { field: string; message: string }[] }[];
  syncs: number;
}

const NODE = 'node-a';
let api: TestApiServer;
let daemon: DaemonProcess;
let metricsUrl: string;
let healthUrl: string;

const state = async (): Promise<StateJson> => (await fetch(`${metricsUrl}/debug/state`)).json() as Promise<StateJson>;
const svcKeys = async () => (await state()).services.map((s) => s.key).sort();
const endpointsOf = async (key: string) =>
  (await state()).services.find((s) => s.key === key)?.endpoints.map((e) => e.ip).sort() ?? null;
const metricsText = async () => (await fetch(`${metricsUrl}/metrics`)).text();

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').pop()) : NaN;
}

function web(name: string, clusterIP: string, epIPs: string[]) {
  return [
    makeService({ name, namespace: 'default', clusterIP, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
    makeEndpointSlice({
      service: name,
      namespace: 'default',
      name: `${name}-abc`,
      ports: [{ name: 'http', port: 8080 }],
      endpoints: epIPs.map((ip) => ({ ip, nodeName: NODE })),
    }),
  ] as const;
}

beforeAll(async () => {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run 'npx tsc -p .' (scripts/test.sh does)`);
  api = await TestApiServer.start({ bookmarkIntervalMs: 500, historySize: 50 });
  api.create(makeNode({ name: NODE, internalIPs: ['198.18.0.1'] }));
  for (const o of web('alpha', '198.19.0.10', ['198.18.1.11', '198.18.1.12'])) api.create(o);
  const kubeconfig = writeTempFile('kubeconfig', kubeconfigFor(api));
  daemon = DaemonProcess.start([
    `--kubeconfig=${kubeconfig}`,
    '--mode=noop',
    `--hostname-override=${NODE}`,
    '--metrics-bind-address=127.0.0.1:0',
    '--healthz-bind-address=127.0.0.1:0',
    '--iptables-min-sync-period=100ms',
    '--iptables-sync-period=2s',
    '-v=2',
  ]);
  metricsUrl = await daemon.address('metrics');
  healthUrl = await daemon.address('health checks');
});

afterAll(async () => {
  const code = await daemon?.stop();
  await api?.close();
  expect(code).toBe(0);
});

describe('daemon against the test apiserver (noop dataplane)', () => {
  it('syncs the initial lists', async () => {
    await eventually(async () => (await svcKeys()).includes('default/alpha:http'), 'alpha in state');
    expect(await endpointsOf('default/alpha:http')).toEqual(['198.18.1.11', '198.18.1.12']);
    expect(daemon.logs.some((l) => l.msg === 'would program service port' && l['service'] === 'default/alpha:http')).toBe(true);
  });

  it('follows create, update and delete of a Service and its EndpointSlice', async () => {
    const [svc, slice] = web('beta', '198.19.0.11', ['198.18.2.11']);
    api.create(svc);
    api.create(slice);
    await eventually(async () => (await endpointsOf('default/beta:http'))?.join() === '198.18.2.11', 'beta created');

    const grown: typeof slice = { ...slice, endpoints: [...slice.endpoints, { addresses: ['198.18.2.12'], nodeName: 'node-b', conditions: { ready: true } }] };
    api.update(grown);
    await eventually(async () => (await endpointsOf('default/beta:http'))?.join() === '198.18.2.11,198.18.2.12', 'beta updated');

    api.delete(slice);
    api.delete(svc);
    await eventually(async () => !(await svcKeys()).includes('default/beta:http'), 'beta deleted');
    expect(daemon.logs.some((l) => l.msg === 'would remove service port' && l['service'] === 'default/beta:http')).toBe(true);
  });

  it('skips a malformed Service with a log line and a record while its neighbours sync', async () => {
    const bad = [
      makeService({ name: 'bad-ip', namespace: 'default', clusterIP: '198.19.0.300', ports: [{ name: 'http', port: 80 }] }),
      makeService({ name: 'bad-port', namespace: 'default', clusterIP: '198.19.0.21', ports: [{ name: 'http', port: 0 }] }),
      makeService({
        name: 'bad-proto',
        namespace: 'default',
        clusterIP: '198.19.0.22',
        ports: [{ name: 'http', port: 80, protocol: 'ICMP' as unknown as 'TCP' }],
      }),
    ];
    for (const s of bad) api.create(s);
    const [gamma, gammaSlice] = web('gamma', '198.19.0.12', ['198.18.1.13']);
    api.create(gamma);
    api.create(gammaSlice);

    await eventually(async () => (await svcKeys()).includes('default/gamma:http'), 'gamma synced next to bad ones');
    const keys = await svcKeys();
    for (const name of ['bad-ip', 'bad-port', 'bad-proto']) expect(keys.some((k) => k.startsWith(`default/${name}:`))).toBe(false);

    const rejected = await eventually(async () => {
      const r = (await state()).rejected;
      return r.length >= 3 ? r : undefined;
    }, 'three rejections recorded');
    const fieldsOf = (name: string) => rejected.find((r) => r.name === name)?.errors.map((e) => e.field) ?? [];
    expect(fieldsOf('bad-ip').some((f) => f.startsWith('spec.clusterIP'))).toBe(true);
    expect(fieldsOf('bad-port')).toContain('spec.ports[0].port');
    expect(fieldsOf('bad-proto')).toContain('spec.ports[0].protocol');
    // One line per rejected object, however many layers saw it and however many syncs followed.
    await eventually(async () => (await state()).syncs > 0, 'a sync after the rejections');
    for (const name of ['bad-ip', 'bad-port', 'bad-proto']) {
      const warned = daemon.logs.filter((l) => l.level === 'warn' && JSON.stringify(l).includes(name));
      expect(warned, name).toHaveLength(1);
      expect(warned[0]).toMatchObject({ msg: 'skipping invalid object', object: `default/${name}` });
    }
  });

  it('programs legacy leading-zero IPs at their decimal address and drops only an unrenderable externalIP', async () => {
    // Accepted by the v1.26 apiserver (leading zeros are decimal); iptables would read 051 as
    // octal 41 and refuse 018 outright.
    api.create(
      makeService({
        name: 'legacy',
        namespace: 'default',
        clusterIP: '198.19.0.010',
        externalIPs: ['192.0.2.051', '198.018.0.11'],
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      }),
    );
    api.create(
      makeEndpointSlice({
        service: 'legacy',
        namespace: 'default',
        name: 'legacy-abc',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ ip: '198.18.1.021', nodeName: NODE }],
      }),
    );
    api.create(
      makeService({
        name: 'half-bad',
        namespace: 'default',
        clusterIP: '198.19.0.31',
        externalIPs: ['192.0.2.7', '192.0.2.7.7'],
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      }),
    );
    api.create(web('half-bad', '198.19.0.31', ['198.18.1.31'])[1]);

    const programmed = (key: string) =>
      daemon.logs.filter((l) => l.msg === 'would program service port' && l['service'] === key).pop()?.['rules'];
    await eventually(async () => programmed('default/legacy:http') !== undefined && programmed('default/half-bad:http') !== undefined, 'both programmed');
    // What reaches the dataplane is the canonical address only.
    expect(programmed('default/legacy:http')).toBe('TCP 198.19.0.10:80,192.0.2.51:80,198.18.0.11:80 -> 198.18.1.21:8080');
    expect(programmed('default/half-bad:http')).toBe('TCP 198.19.0.31:80,192.0.2.7:80 -> 198.18.1.31:8080');

    const st = await state();
    expect(st.services.find((x) => x.key === 'default/legacy:http')).toMatchObject({
      clusterIPs: ['198.19.0.10'],
      externalIPs: ['192.0.2.51', '198.18.0.11'],
      endpoints: [{ ip: '198.18.1.21' }],
    });
    expect(st.rejected.some((r) => r.name === 'legacy')).toBe(false);
    expect(st.rejected.find((r) => r.name === 'half-bad')).toMatchObject({
      kind: 'Service',
      namespace: 'default',
      errors: [{ field: 'spec.externalIPs[1]', message: 'must be a valid IP address, got "192.0.2.7.7"; this external IP is ignored' }],
    });
    expect(metricValue(await metricsText(), 'kubeproxy_ts_rejected_objects_total{kind="Service"}')).toBeGreaterThanOrEqual(1);
  });

  it('recovers from dropped watches and 410 Gone without removing any programmed service', async () => {
    const removalsBefore = daemon.logs.filter((l) => l.msg === 'would remove service port').length;
    const watchesBefore = api.watchRequests('services');

    api.dropWatches();
    const [delta, deltaSlice] = web('delta', '198.19.0.13', ['198.18.1.14']);
    api.create(delta);
    api.create(deltaSlice);
    await eventually(async () => (await svcKeys()).includes('default/delta:http'), 'delta after dropped watch');
    expect(api.watchRequests('services')).toBeGreaterThan(watchesBefore);

    // Make the informers' resourceVersion too old, then cut them off: the re-watch gets 410 Gone
    // and they must re-list.
    const listsBefore = api.listRequests('services');
    for (let i = 0; i < 60; i++) api.upsert(makeNode({ name: 'other-node', labels: { churn: String(i) } }));
    api.compactHistory();
    api.dropWatches();
    const [eps, epsSlice] = web('epsilon', '198.19.0.14', ['198.18.1.15']);
    api.create(eps);
    api.create(epsSlice);
    await eventually(async () => (await svcKeys()).includes('default/epsilon:http'), 'epsilon after 410');
    expect(api.listRequests('services')).toBeGreaterThan(listsBefore);

    const keys = await svcKeys();
    expect(keys).toEqual(expect.arrayContaining(['default/alpha:http', 'default/gamma:http', 'default/delta:http']));
    const removalsAfter = daemon.logs.filter((l) => l.msg === 'would remove service port').length;
    expect(removalsAfter).toBe(removalsBefore);
  });

  it('exports upstream metrics that move with syncs', async () => {
    const before = await metricsText();
    expect(before).toMatch(/# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram/);
    expect(before).toMatch(/kubeproxy_sync_proxy_rules_duration_seconds_bucket\{le="0.001",ip_family="IPv4"\}/);
    expect(before).toMatch(/kubeproxy_sync_proxy_rules_duration_seconds_bucket\{le="16.384",ip_family="IPv4"\}/);
    expect(before).toMatch(/# TYPE kubeproxy_network_programming_duration_seconds histogram/);
    expect(before).toMatch(/# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge/);
    expect(before).toMatch(/# TYPE kubeproxy_sync_proxy_rules_endpoint_changes_total counter/);
    expect(before).toMatch(/# TYPE kubeproxy_sync_proxy_rules_service_changes_pending gauge/);
    expect(before).toMatch(/process_resident_memory_bytes/);
    const syncsBefore = metricValue(before, 'kubeproxy_sync_proxy_rules_duration_seconds_count');
    const epChangesBefore = metricValue(before, 'kubeproxy_sync_proxy_rules_endpoint_changes_total');

    api.upsert(makeEndpointSlice({ service: 'alpha', namespace: 'default', name: 'alpha-abc', ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '198.18.1.11', nodeName: NODE }] }));
    await eventually(async () => (await endpointsOf('default/alpha:http'))?.join() === '198.18.1.11', 'alpha shrunk');
    const after = await eventually(async () => {
      const t = await metricsText();
      return metricValue(t, 'kubeproxy_sync_proxy_rules_duration_seconds_count') > syncsBefore ? t : undefined;
    }, 'sync count increased');
    expect(metricValue(after, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBeGreaterThan(epChangesBefore);
    expect(metricValue(after, 'kubeproxy_network_programming_duration_seconds_count')).toBeGreaterThan(0);
    expect(metricValue(after, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('serves /healthz, /livez, /configz and /proxyMode like upstream', async () => {
    const hz = await fetch(`${healthUrl}/healthz`);
    expect(hz.status).toBe(200);
    const body = (await hz.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['currentTime', 'lastUpdated', 'nodeEligible']);
    expect((await fetch(`${healthUrl}/livez`)).status).toBe(200);
    expect(await (await fetch(`${metricsUrl}/proxyMode`)).text()).toBe('noop');
    const configz = JSON.stringify(await (await fetch(`${metricsUrl}/configz`)).json());
    expect(configz).toContain('KubeProxyConfiguration');
    expect(configz).toContain('"minSyncPeriod":"100ms"');
  });

  it('says why /healthz turns 503 when its own Node is deleted, once, and recovers when it returns', async () => {
    const deleted = () => daemon.logs.filter((l) => String(l.msg).startsWith('own Node deleted'));
    expect(deleted()).toHaveLength(0);
    api.delete(makeNode({ name: NODE }));
    await eventually(async () => (await fetch(`${healthUrl}/healthz`)).status === 503, 'healthz 503 after delete');
    expect(deleted()).toHaveLength(1);
    expect(deleted()[0]).toMatchObject({ level: 'warn', node: NODE });
    expect(String(deleted()[0]?.msg)).toContain('/healthz');
    api.create(makeNode({ name: NODE, internalIPs: ['198.18.0.1'] }));
    await eventually(async () => (await fetch(`${healthUrl}/healthz`)).status === 200, 'healthz 200 after re-create');
    expect(deleted()).toHaveLength(1);
    expect(daemon.logs.filter((l) => l.msg === 'own Node re-created')).toHaveLength(1);
  });

  it('reports /healthz 503 when its own Node is tainted for deletion, /livez stays 200', async () => {
    api.upsert(makeNode({ name: NODE, internalIPs: ['198.18.0.1'], taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] }));
    await eventually(async () => (await fetch(`${healthUrl}/healthz`)).status === 503, 'healthz 503');
    expect((await fetch(`${healthUrl}/livez`)).status).toBe(200);
    api.upsert(makeNode({ name: NODE, internalIPs: ['198.18.0.1'] }));
    await eventually(async () => (await fetch(`${healthUrl}/healthz`)).status === 200, 'healthz back to 200');
  });
});
