// The production watch layer against the stand-in apiserver, through the real client-node
// informers and HTTP stack: initial sync, propagation, label filters and every recovery path.

import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger, silentLogger, type Logger } from '../../proxy/log.js';
import { startClusterWatch, type ClusterWatch } from '../../proxy/watch/index.js';
import { LIST_PAGE_SIZE, listAll } from '../../proxy/watch/list.js';
import {
  HEADLESS_LABEL,
  makeEndpointSlice,
  makeEndpoints,
  makeNode,
  makeService,
  SERVICE_PROXY_NAME_LABEL,
  TestApiServer,
  type TestApiServerOptions,
} from '../apiserver/index.js';
import { RecordingSink, kubeConfigOf, waitFor } from '../apiserver/recording-sink.js';

const NODE = 'node-a';

type LogLine = { level: string; msg: string; [k: string]: unknown };
const records = (lines: readonly string[]): LogLine[] => lines.map((l) => JSON.parse(l) as LogLine);
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

interface Harness {
  server: TestApiServer;
  sink: RecordingSink;
  watch: ClusterWatch;
  syncedCalls: () => number;
  eventCalls: () => number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function startServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  const server = await TestApiServer.start({ bookmarkIntervalMs: 100, ...opts });
  cleanups.push(() => server.close());
  return server;
}

function watchAgainst(
  server: TestApiServer,
  o: { useEndpoints?: boolean; logger?: Logger; token?: string; resyncPeriodMs?: number } = {},
): Omit<Harness, 'server'> {
  const sink = new RecordingSink();
  let synced = 0;
  let events = 0;
  const kc = kubeConfigOf(server);
  if (o.token !== undefined) {
    const user = kc.getCurrentUser();
    kc.users = kc.users.map((u) => (u.name === user?.name ? { ...u, token: o.token } : u));
  }
  const watch = startClusterWatch({
    kubeConfig: kc,
    nodeName: NODE,
    useEndpoints: o.useEndpoints ?? false,
    resyncPeriodMs: o.resyncPeriodMs ?? 0,
    sink,
    logger: o.logger ?? silentLogger,
    onSynced: () => synced++,
    onEvent: () => events++,
    backoff: FAST_BACKOFF,
  });
  cleanups.push(() => watch.stop());
  return { sink, watch, syncedCalls: () => synced, eventCalls: () => events };
}

function seed(server: TestApiServer): void {
  server.create(makeNode({ name: NODE, zone: 'z1' }));
  server.create(makeNode({ name: 'node-b' }));
  server.create(makeService({ name: 'web', ports: [{ name: 'http', port: 80 }] }));
  server.create(makeService({ name: 'db', namespace: 'prod', ports: [{ name: 'pg', port: 5432 }] }));
  server.create(makeEndpointSlice({ service: 'web', name: 'web-abc', endpoints: [{ ip: '10.0.0.1', nodeName: NODE }] }));
  server.create(makeEndpointSlice({ service: 'db', namespace: 'prod', name: 'db-xyz', endpoints: [{ ip: '10.0.1.1' }] }));
}

const EXPECTED_INITIAL = [
  'EndpointSlice:default/web-abc',
  'EndpointSlice:prod/db-xyz',
  'Node:/node-a',
  'Service:default/web',
  'Service:prod/db',
];

describe('startClusterWatch against the test apiserver', () => {
  it('delivers the initial lists, then onSynced exactly once, with typed objects', async () => {
    const server = await startServer();
    seed(server);
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    expect(h.syncedCalls()).toBe(1);
    expect([...h.sink.state.keys()].sort()).toEqual(EXPECTED_INITIAL);
    // Only the own node, selected by field selector.
    expect(h.sink.has('Node', '/node-b')).toBe(false);
    const svc = h.sink.get('Service', 'default/web')?.obj;
    // Listed objects are the apiserver's JSON (proxy/watch/list.ts), not client-node's models.
    expect(typeof svc?.metadata?.creationTimestamp).toBe('string');
    expect(server.listRequests('services')).toBe(1);
  });

  it('caches and delivers objects without managedFields, listed or watched', async () => {
    const server = await startServer();
    seed(server);
    const managed = [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }];
    const withManagedFields = <T extends { metadata?: object }>(o: T): T => {
      Object.assign(o.metadata ?? {}, { managedFields: managed });
      return o;
    };
    server.create(withManagedFields(makeService({ name: 'listed', ports: [{ name: 'http', port: 80 }] })));
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    server.create(withManagedFields(makeService({ name: 'watched', ports: [{ name: 'http', port: 80 }] })));
    await waitFor(() => h.sink.has('Service', 'default/watched'), 'watched service');
    for (const name of ['listed', 'watched']) {
      const obj = h.sink.get('Service', `default/${name}`)?.obj;
      expect(obj?.metadata?.name).toBe(name);
      expect(obj?.metadata?.managedFields).toBeUndefined();
    }
    // The apiserver still has them: only our copy is trimmed.
    expect(JSON.stringify(server.get('services', 'default', 'listed'))).toContain('kubectl');
  });

  it('propagates creates, updates and deletes of Services and EndpointSlices', async () => {
    const server = await startServer();
    seed(server);
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    const before = h.eventCalls();

    server.create(makeService({ name: 'api', ports: [{ name: 'https', port: 443 }] }));
    await waitFor(() => h.sink.has('Service', 'default/api'), 'service add');
    // Watch events have the same plain JSON form as list items.
    expect(typeof h.sink.get('Service', 'default/api')?.obj.metadata?.creationTimestamp).toBe('string');

    const web = makeService({ name: 'web', ports: [{ name: 'http', port: 8080 }] });
    server.update(web);
    await waitFor(() => (h.sink.get('Service', 'default/web')?.obj as typeof web).spec?.ports?.[0]?.port === 8080, 'update');

    server.update(makeEndpointSlice({ service: 'web', name: 'web-abc', endpoints: [{ ip: '10.0.0.2' }] }));
    await waitFor(
      () => JSON.stringify(h.sink.get('EndpointSlice', 'default/web-abc')?.obj).includes('10.0.0.2'),
      'slice update',
    );
    server.delete(makeEndpointSlice({ service: 'db', namespace: 'prod', name: 'db-xyz' }));
    server.delete(makeService({ name: 'db', namespace: 'prod' }));
    await waitFor(() => !h.sink.has('Service', 'prod/db') && !h.sink.has('EndpointSlice', 'prod/db-xyz'), 'deletes');
    expect(h.eventCalls()).toBeGreaterThanOrEqual(before + 5);
  });

  it('never delivers service-proxy-name or headless objects, including label flips', async () => {
    const server = await startServer();
    seed(server);
    server.create(makeService({ name: 'other', labels: { [SERVICE_PROXY_NAME_LABEL]: 'foo' } }));
    server.create(makeEndpointSlice({ service: 'hl', name: 'hl-1', labels: { [HEADLESS_LABEL]: '' } }));
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    server.create(makeService({ name: 'other2', labels: { [SERVICE_PROXY_NAME_LABEL]: 'bar' } }));
    server.create(makeEndpointSlice({ service: 'other2', name: 'other2-1', labels: { [SERVICE_PROXY_NAME_LABEL]: 'bar' } }));
    // A service that becomes claimed by another proxy disappears for us (the server sends DELETED).
    server.update(makeService({ name: 'web', labels: { [SERVICE_PROXY_NAME_LABEL]: 'foo' } }));
    server.create(makeService({ name: 'marker' }));
    await waitFor(() => h.sink.has('Service', 'default/marker') && !h.sink.has('Service', 'default/web'), 'marker');
    const keys = h.sink.events.map((e) => e.key);
    expect(keys).not.toContain('default/other');
    expect(keys).not.toContain('default/other2');
    expect(keys).not.toContain('default/hl-1');
    expect(keys).not.toContain('default/other2-1');
  });

  it('uses v1 Endpoints instead of EndpointSlices with useEndpoints', async () => {
    const server = await startServer();
    seed(server);
    server.create(makeEndpoints({ name: 'web', addresses: [{ ip: '10.0.0.1' }] }));
    const h = watchAgainst(server, { useEndpoints: true });
    await waitFor(() => h.watch.synced(), 'sync');
    expect(h.sink.has('Endpoints', 'default/web')).toBe(true);
    expect(h.sink.events.some((e) => e.kind === 'EndpointSlice')).toBe(false);
    expect(server.listRequests('endpointslices')).toBe(0);
  });

  it('recovers from dropped watches and sees changes made meanwhile', async () => {
    const server = await startServer();
    seed(server);
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    const watchesBefore = server.watchRequests('services');
    server.dropWatches();
    server.create(makeService({ name: 'after-drop' }));
    server.delete(makeService({ name: 'web' }));
    await waitFor(() => h.sink.has('Service', 'default/after-drop') && !h.sink.has('Service', 'default/web'), 'recovery');
    expect(server.watchRequests('services')).toBeGreaterThan(watchesBefore);
    // Resumed from the last resourceVersion: no second list was needed.
    expect(server.listRequests('services')).toBe(1);
  });

  it('re-lists after 410 Gone and reports objects deleted during the outage as deletes', async () => {
    const server = await startServer();
    seed(server);
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    // Drop first, then change and compact in the same tick: the reconnect must come from an
    // older resourceVersion than the history now holds.
    server.dropWatches();
    server.delete(makeService({ name: 'web' }));
    server.delete(makeEndpointSlice({ service: 'web', name: 'web-abc' }));
    server.update(makeService({ name: 'db', namespace: 'prod', ports: [{ name: 'pg', port: 6543 }] }));
    server.create(makeService({ name: 'new' }));
    server.compactHistory();
    await waitFor(
      () =>
        !h.sink.has('Service', 'default/web') &&
        !h.sink.has('EndpointSlice', 'default/web-abc') &&
        h.sink.has('Service', 'default/new') &&
        JSON.stringify(h.sink.get('Service', 'prod/db')?.obj).includes('6543'),
      'reconciled re-list',
    );
    expect(server.listRequests('services')).toBe(2);
    expect(h.sink.deletes().map((d) => d.key).sort()).toEqual(['default/web', 'default/web-abc']);
    expect(h.sink.has('Node', '/node-a')).toBe(true);
  });

  it('lists in pages of 500, as client-go does, and still delivers every object', async () => {
    const server = await startServer();
    seed(server);
    const n = 2 * LIST_PAGE_SIZE + 1;
    for (let i = 0; i < n; i++) server.create(makeEndpointSlice({ service: 'web', name: `many-${String(i).padStart(4, '0')}`, endpoints: [{ ip: '10.0.2.1' }] }));
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    expect(server.pagedListRequests('endpointslices')).toEqual([
      { resource: 'endpointslices', limit: 500, continued: false },
      { resource: 'endpointslices', limit: 500, continued: true },
      { resource: 'endpointslices', limit: 500, continued: true },
    ]);
    const slices = [...h.sink.state.keys()].filter((k) => k.startsWith('EndpointSlice:'));
    expect(slices).toHaveLength(n + 2);
    expect(h.sink.has('EndpointSlice', `default/many-${String(n - 1).padStart(4, '0')}`)).toBe(true);
    // Watching resumes from the list's resourceVersion: a change after the list arrives.
    server.create(makeService({ name: 'after' }));
    await waitFor(() => h.sink.has('Service', 'default/after'), 'watched service');
    expect(server.listRequests('services')).toBe(1);
  });

  it('keeps (strips) each page before asking for the next, and lists again unpaged on an expired continue token', async () => {
    const server = await startServer();
    for (let i = 0; i < 5; i++) server.create(makeService({ name: `s${i}` }));
    const kc = kubeConfigOf(server);
    const pagesAsked: number[] = [];
    const kept = await listAll(kc, '/api/v1/services', {}, (o: { metadata: { name: string } }) => {
      pagesAsked.push(server.pagedListRequests('services').length);
      return o.metadata.name;
    }, 2);
    expect(kept).toMatchObject({ kind: 'ServiceList', items: ['s0', 's1', 's2', 's3', 's4'] });
    expect(kept.metadata?.continue).toBeUndefined();
    // Each object was kept while only its own page had been fetched.
    expect(pagesAsked).toEqual([1, 1, 2, 2, 3]);

    // The history compacted between pages: the continue answer is 410, so one unpaged list.
    const before = server.listRequests('services');
    let compacted = false;
    const again = await listAll(kc, '/api/v1/services', {}, (o: { metadata: { name: string } }) => {
      if (!compacted) {
        compacted = true;
        server.create(makeService({ name: 's5' }));
        server.compactHistory();
      }
      return o.metadata.name;
    }, 2);
    expect(server.listRequests('services') - before).toBe(3);
    expect(again.items).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
  });

  for (const mode of ['503', 'reset'] as const) {
    it(`survives the apiserver being away (${mode}) without spurious deletes, logging each problem once`, async () => {
      const server = await startServer();
      seed(server);
      const { logger, lines } = memoryLogger();
      const h = watchAgainst(server, { logger });
      await waitFor(() => h.watch.synced(), 'sync');
      server.setAvailable(false, mode);
      // Several failed attempts with growing delays while it is away (repeats are at -v=4).
      await waitFor(() => records(lines).filter((l) => l.msg === 'watch still failing').length >= 6, 'retries');
      server.delete(makeService({ name: 'db', namespace: 'prod' }));
      server.setAvailable(true);
      server.create(makeService({ name: 'back' }));
      await waitFor(() => h.sink.has('Service', 'default/back') && !h.sink.has('Service', 'prod/db'), 'recovery');
      expect(h.sink.deletes().map((d) => d.key)).toEqual(['prod/db']);
      expect([...h.sink.state.keys()].sort()).toEqual(
        [...EXPECTED_INITIAL.filter((k) => k !== 'Service:prod/db'), 'Service:default/back'].sort(),
      );
      const recs = records(lines);
      const warn = recs.filter((l) => l.level === 'warn');
      expect(warn.length).toBeGreaterThan(0);
      for (const w of warn) expect(w).toMatchObject({ msg: 'watch failed; retrying', component: 'watch' });
      expect(typeof warn[0]?.['resource']).toBe('string');
      // One line per distinct problem, not one per informer and retry.
      const problems = warn.map((w) => `${String(w['reason'])}|${String(w['code'])}`);
      expect(new Set(problems).size).toBe(problems.length);
      if (mode === '503') expect(warn, JSON.stringify(warn)).toHaveLength(1);
      const retries = recs.filter((l) => l.msg === 'watch still failing');
      expect(retries.length).toBeGreaterThanOrEqual(6);
      const delays = retries.filter((l) => l['resource'] === 'services').map((l) => Number(l['retryInMs']));
      expect(Math.max(...delays)).toBeGreaterThan(FAST_BACKOFF.initialMs * 2);
      await waitFor(() => records(lines).some((l) => l.msg === 'watch re-established'), 're-established line');
      const back = records(lines).filter((l) => l.msg === 'watch re-established');
      expect(back).toHaveLength(1);
      expect(back[0]?.['resources']).toEqual(['endpointslices', 'nodes', 'services']);
    });
  }

  it('logs a 401 once, without response headers, and never syncs with a wrong token', async () => {
    const server = await startServer();
    seed(server);
    const { logger, lines } = memoryLogger();
    const h = watchAgainst(server, { logger, token: 'wrong' });
    await waitFor(() => records(lines).filter((l) => l.msg === 'watch still failing').length >= 9, 'retries');
    const warn = records(lines).filter((l) => l.level === 'warn');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ msg: 'watch failed; retrying', code: 401 });
    expect(String(warn[0]?.['reason'])).toMatch(/401 Unauthorized.*token/);
    expect(lines.join('\n')).not.toMatch(/Headers|content-length|HTTP-Code/i);
    expect(h.watch.synced()).toBe(false);
    expect(h.syncedCalls()).toBe(0);
    expect(h.sink.events).toEqual([]);
  });

  it('logs a 403 once per forbidden resource, then that the watch is back', async () => {
    const server = await startServer();
    seed(server);
    const { logger, lines } = memoryLogger();
    const h = watchAgainst(server, { logger });
    await waitFor(() => h.watch.synced(), 'sync');
    server.setRejecting(403);
    await waitFor(() => records(lines).filter((l) => l.msg === 'watch still failing').length >= 9, 'retries');
    server.setRejecting(undefined);
    server.create(makeService({ name: 'after-403' }));
    await waitFor(() => h.sink.has('Service', 'default/after-403'), 'recovery');
    await waitFor(() => records(lines).some((l) => l.msg === 'watch re-established'), 're-established line');
    const recs = records(lines);
    const warn = recs.filter((l) => l.level === 'warn');
    expect(warn.map((w) => w['resource']).sort(), JSON.stringify(warn)).toEqual(['endpointslices', 'nodes', 'services']);
    for (const w of warn) {
      expect(w).toMatchObject({ msg: 'watch failed; retrying', code: 403 });
      expect(String(w['reason'])).toMatch(/403 Forbidden.*RBAC/);
    }
    expect(recs.filter((l) => l.msg === 'watch re-established')).toHaveLength(1);
    expect(lines.join('\n')).not.toMatch(/Headers|HTTP-Code/);
  });

  it('logs an untrusted TLS certificate once, naming it as a TLS problem', async () => {
    const server = await startServer({ https: true });
    seed(server);
    const { logger, lines } = memoryLogger();
    const kc = kubeConfigOf(server);
    // Trust nothing in particular: the self-signed serving certificate must be refused.
    kc.clusters = kc.clusters.map((c) => ({ ...c, caData: undefined, caFile: undefined, skipTLSVerify: false }));
    const watch = startClusterWatch({
      kubeConfig: kc,
      nodeName: NODE,
      useEndpoints: false,
      resyncPeriodMs: 0,
      sink: new RecordingSink(),
      logger,
      onSynced: () => undefined,
      backoff: FAST_BACKOFF,
    });
    cleanups.push(() => watch.stop());
    await waitFor(() => records(lines).filter((l) => l.msg === 'watch still failing').length >= 6, 'retries');
    const warn = records(lines).filter((l) => l.level === 'warn');
    expect(warn).toHaveLength(1);
    expect(String(warn[0]?.['reason'])).toMatch(/^TLS: /);
    expect(watch.synced()).toBe(false);
  });

  it('works over HTTPS with the pinned self-signed certificate', async () => {
    const server = await startServer({ https: true });
    expect(server.url.startsWith('https://')).toBe(true);
    seed(server);
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    server.create(makeService({ name: 'tls' }));
    await waitFor(() => h.sink.has('Service', 'default/tls'), 'tls add');
  });

  it('re-delivers cached objects on the resync period', async () => {
    const server = await startServer();
    seed(server);
    const h = watchAgainst(server, { resyncPeriodMs: 50 });
    await waitFor(() => h.watch.synced(), 'sync');
    const upsertsOfWeb = () => h.sink.events.filter((e) => e.key === 'default/web' && e.op === 'upsert').length;
    await waitFor(() => upsertsOfWeb() >= 3, 'resyncs');
    expect(h.sink.deletes()).toEqual([]);
  });

  it('reports a deleted own Node', async () => {
    const server = await startServer();
    seed(server);
    const h = watchAgainst(server);
    await waitFor(() => h.watch.synced(), 'sync');
    server.delete(makeNode({ name: NODE }));
    await waitFor(() => h.sink.deletes('Node').length === 1, 'node delete');
  });
});
