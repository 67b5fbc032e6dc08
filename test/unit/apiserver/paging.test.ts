// The stand-in apiserver's paged lists (limit/continue), as the real apiserver serves them:
// key order, a continue token and remainingItemCount on every page but the last, every page at
// the first page's resourceVersion, and 410 Expired once the history no longer reaches back.

import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { makeService, TestApiServer } from '../../apiserver/index.js';

const servers: TestApiServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()?.close();
});

async function start(): Promise<TestApiServer> {
  const s = await TestApiServer.start({ token: 't0k' });
  servers.push(s);
  return s;
}

interface Page {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: { metadata: { name: string; namespace: string } }[];
}

function get(server: TestApiServer, path: string): Promise<{ status: number; body: string }> {
  const base = new URL(server.url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: base.hostname, port: base.port, path, headers: { authorization: 'Bearer t0k' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function page(server: TestApiServer, limit: number, token?: string): Promise<Page> {
  const r = await get(server, `/api/v1/services?limit=${limit}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as Page;
}

const names = (p: Page): string[] => p.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`);

function seed(server: TestApiServer, n: number): void {
  // Created out of key order: pages come in key order anyway.
  for (let i = n - 1; i >= 0; i--) server.create(makeService({ name: `s${String(i).padStart(2, '0')}`, ports: [{ name: 'p', port: 80 }] }));
}

describe('test apiserver paged lists', () => {
  it('serves limit-sized pages in key order with continue and remainingItemCount, and records them', async () => {
    const server = await start();
    seed(server, 5);
    const p1 = await page(server, 2);
    expect(names(p1)).toEqual(['default/s00', 'default/s01']);
    expect(p1.metadata.remainingItemCount).toBe(3);
    const p2 = await page(server, 2, p1.metadata.continue);
    expect(names(p2)).toEqual(['default/s02', 'default/s03']);
    const p3 = await page(server, 2, p2.metadata.continue);
    expect(names(p3)).toEqual(['default/s04']);
    expect(p3.metadata.continue).toBeUndefined();
    expect(p3.metadata.remainingItemCount).toBeUndefined();
    expect(new Set([p1, p2, p3].map((p) => p.metadata.resourceVersion)).size).toBe(1);
    expect(server.pagedListRequests('services')).toEqual([
      { resource: 'services', limit: 2, continued: false },
      { resource: 'services', limit: 2, continued: true },
      { resource: 'services', limit: 2, continued: true },
    ]);
  });

  it('serves later pages as of the first page: changes made meanwhile are not in them', async () => {
    const server = await start();
    seed(server, 4);
    const p1 = await page(server, 2);
    server.delete(makeService({ name: 's03', ports: [] }));
    server.create(makeService({ name: 's02a', ports: [{ name: 'p', port: 80 }] }));
    server.update(makeService({ name: 's02', ports: [{ name: 'p', port: 8080 }] }));
    const p2 = await page(server, 2, p1.metadata.continue);
    expect(names(p2)).toEqual(['default/s02', 'default/s03']);
    const s02 = p2.items[0] as unknown as { spec: { ports: { port: number }[] } };
    expect(s02.spec.ports[0]?.port).toBe(80);
    expect(p2.metadata.resourceVersion).toBe(p1.metadata.resourceVersion);
    // A new list sees the present.
    const fresh = await page(server, 10);
    expect(names(fresh)).toEqual(['default/s00', 'default/s01', 'default/s02', 'default/s02a']);
  });

  it('answers 410 Expired to a continue token older than the history, 400 to a malformed one', async () => {
    const server = await start();
    seed(server, 3);
    const p1 = await page(server, 1);
    server.create(makeService({ name: 'later', ports: [{ name: 'p', port: 80 }] }));
    server.compactHistory();
    const r = await get(server, `/api/v1/services?limit=1&continue=${encodeURIComponent(p1.metadata.continue ?? '')}`);
    expect(r.status).toBe(410);
    expect((JSON.parse(r.body) as { reason: string }).reason).toBe('Expired');
    expect((await get(server, '/api/v1/services?limit=1&continue=bm9wZQ')).status).toBe(400);
  });

  it('lists unpaged without limit, as before', async () => {
    const server = await start();
    seed(server, 3);
    const r = JSON.parse((await get(server, '/api/v1/services')).body) as Page;
    expect(names(r)).toEqual(['default/s00', 'default/s01', 'default/s02']);
    expect(r.metadata.continue).toBeUndefined();
    expect(server.pagedListRequests('services')).toEqual([]);
  });
});
