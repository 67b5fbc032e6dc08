// The wire protocol of the test apiserver, checked with plain HTTP requests.

import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeNode, makeService, TestApiServer, kubeconfigFor, type TestApiServerOptions } from '../../apiserver/index.js';

const servers: TestApiServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()?.close();
});

async function start(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  const s = await TestApiServer.start({ token: 't0k', bookmarkIntervalMs: 30, ...opts });
  servers.push(s);
  return s;
}

interface Resp {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function get(target: { url?: string; socketPath?: string }, path: string, token = 't0k'): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const base = target.url ? new URL(target.url) : undefined;
    const req = http.get(
      {
        ...(base ? { host: base.hostname, port: base.port } : { socketPath: target.socketPath }),
        path,
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

/** Opens a watch and collects parsed events until `until` says stop (then aborts). */
function watchUntil(url: string, path: string, until: (events: { type: string; object: Record<string, any> }[]) => boolean) {
  return new Promise<{ type: string; object: Record<string, any> }[]>((resolve, reject) => {
    const u = new URL(url);
    const events: { type: string; object: Record<string, any> }[] = [];
    const req = http.get({ host: u.hostname, port: u.port, path, headers: { authorization: 'Bearer t0k' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      const check = () => {
        if (until(events)) {
          req.destroy();
          resolve(events);
        }
      };
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
        check();
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (e) => (events.length && until(events) ? undefined : reject(e)));
  });
}

describe('TestApiServer wire protocol', () => {
  it('serves List JSON with a resourceVersion and filters by namespace and labels', async () => {
    const s = await start();
    s.create(makeService({ name: 'a' }));
    s.create(makeService({ name: 'b', namespace: 'x', labels: { 'service.kubernetes.io/service-proxy-name': 'p' } }));
    const all = JSON.parse((await get(s, '/api/v1/services')).body);
    expect(all).toMatchObject({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: String(s.resourceVersion()) } });
    expect(all.items.map((i: any) => i.metadata.name)).toEqual(['a', 'b']);
    expect(all.items[0].kind).toBeUndefined();
    const sel = encodeURIComponent('!service.kubernetes.io/service-proxy-name');
    expect(JSON.parse((await get(s, `/api/v1/services?labelSelector=${sel}`)).body).items).toHaveLength(1);
    expect(JSON.parse((await get(s, '/api/v1/namespaces/x/services')).body).items).toHaveLength(1);
    expect(s.listRequests('services')).toBe(3);
    expect((await get(s, '/api/v1/services?labelSelector=a%20in%20(b)')).status).toBe(400);
  });

  it('gets a node by name and by field selector, and 404s unknown ones', async () => {
    const s = await start();
    s.create(makeNode({ name: 'n1' }));
    s.create(makeNode({ name: 'n2' }));
    expect(JSON.parse((await get(s, '/api/v1/nodes/n1')).body)).toMatchObject({ kind: 'Node', metadata: { name: 'n1' } });
    expect((await get(s, '/api/v1/nodes/zz')).status).toBe(404);
    const list = JSON.parse((await get(s, '/api/v1/nodes?fieldSelector=metadata.name%3Dn2')).body);
    expect(list.items.map((i: any) => i.metadata.name)).toEqual(['n2']);
  });

  it('answers 401 Status JSON for a wrong token and 503 while unavailable', async () => {
    const s = await start();
    const r = await get(s, '/api/v1/services', 'nope');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
    s.setAvailable(false);
    expect((await get(s, '/api/v1/services')).status).toBe(503);
    s.setAvailable(false, 'reset');
    await expect(get(s, '/api/v1/services')).rejects.toThrow();
    s.setAvailable(true);
    expect((await get(s, '/api/v1/services')).status).toBe(200);
  });

  it('replays history, translates label changes and sends bookmarks', async () => {
    const s = await start();
    s.create(makeService({ name: 'a' }));
    const rv = s.resourceVersion();
    s.create(makeService({ name: 'b' }));
    s.update(makeService({ name: 'a', labels: { 'service.kubernetes.io/service-proxy-name': 'p' } }));
    const sel = encodeURIComponent('!service.kubernetes.io/service-proxy-name');
    const events = await watchUntil(
      s.url,
      `/api/v1/services?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&labelSelector=${sel}`,
      (evs) => evs.some((e) => e.type === 'BOOKMARK'),
    );
    expect(events.map((e) => `${e.type}:${e.object.metadata.name ?? ''}`)).toEqual(['ADDED:b', 'DELETED:a', 'BOOKMARK:']);
    expect(events[0]?.object.kind).toBe('Service');
    expect(events[2]?.object.metadata.resourceVersion).toBe(String(s.resourceVersion()));
    expect(s.watchRequests('services')).toBe(1);
  });

  it('streams live events and honours timeoutSeconds', async () => {
    const s = await start();
    const p = watchUntil(s.url, `/api/v1/services?watch=true&resourceVersion=${s.resourceVersion()}&timeoutSeconds=1`, () => false);
    // The watch is registered synchronously with the response headers.
    while (s.openWatches('services') === 0) await new Promise((r) => setTimeout(r, 5));
    s.create(makeService({ name: 'live' }));
    const events = await p; // ends when the server closes the stream after timeoutSeconds
    expect(events.map((e) => e.type)).toEqual(['ADDED']);
    expect(s.openWatches()).toBe(0);
  });

  it('sends a 410 Expired ERROR event for a compacted resourceVersion', async () => {
    const s = await start();
    s.create(makeService({ name: 'a' }));
    const old = s.resourceVersion();
    s.create(makeService({ name: 'b' }));
    s.compactHistory();
    const events = await watchUntil(s.url, `/api/v1/services?watch=true&resourceVersion=${old}`, () => false);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 },
    });
    expect(events[0]?.object.message).toMatch(/^too old resource version: /);
  });

  it('serves the same API on a unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apiserver-sock-'));
    try {
      const sock = join(dir, 'api.sock');
      const s = await start({ unixSocket: sock });
      s.create(makeService({ name: 'a' }));
      const r = await get({ socketPath: sock }, '/api/v1/services');
      expect(JSON.parse(r.body).items).toHaveLength(1);
      expect(kubeconfigFor(s, { url: 'http://127.0.0.1:6443' })).toMatch(/insecure-skip-tls-verify: true/);
    } finally {
      await servers.pop()?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
