// The informers' initial list (and re-list after 410 Gone): one GET of the collection, answered as
// plain JSON, with the credentials and TLS settings client-node's KubeConfig gives every request.
//
// Why not client-node's generated CoreV1Api/DiscoveryV1Api: loading them (and the ObjectSerializer
// with its ~700 model classes they need) costs the daemon ~25 MiB of live heap and ~60 MiB RSS
// for three list calls (bench/README.md, "Memory"). Watch events arrive as plain JSON too
// (typed-watch.ts), so the sink sees one shape of every object either way.
//
// Paged like client-go's reflector (500 objects a page, `limit`/`continue`), and each page's
// objects stripped and compacted (compact.ts) before the next is fetched: unpaged, the initial
// list of 10,000 EndpointSlices was one ~30 MB answer held as bytes, then as a string, then parsed
// whole into unstripped objects, all at once: the daemon's first-sync RSS peak.

import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-200 answer, shaped like client-node's ApiException (code, body) for api-failure.ts. */
export class ApiListError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    path: string,
  ) {
    super(`HTTP ${code} listing ${path}`);
    this.name = 'ApiListError';
  }
}

export interface ListQuery {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Objects per page (client-go's reflector asks for 500); 0 or absent: one unpaged answer. */
  readonly limit?: number;
  readonly continue?: string;
}

/** client-go's reflector page size (pager.defaultPageSize). */
export const LIST_PAGE_SIZE = 500;

interface ListPage<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/**
 * Every object of a collection, fetched `pageSize` at a time; `each` turns an object into what is
 * kept (the informer's strip and compaction) while its page is the only one in memory. The
 * answer carries the first page's resourceVersion (every page is served at it) and no continue
 * token. When a continue token has expired (410: the list took longer than etcd's compaction
 * window), it lists once more unpaged, as client-go's pager does.
 */
export async function listAll<T, U>(kc: KubeConfig, path: string, query: ListQuery, each: (o: T) => U, pageSize = LIST_PAGE_SIZE): Promise<ListPage<U>> {
  const items: U[] = [];
  let first: ListPage<T> | undefined;
  let token: string | undefined;
  for (;;) {
    let page: ListPage<T>;
    try {
      page = await listCollection<ListPage<T>>(kc, path, { ...query, limit: pageSize, ...(token !== undefined ? { continue: token } : {}) });
    } catch (err) {
      if (!(err instanceof ApiListError && err.code === 410 && token !== undefined)) throw err;
      const whole = await listCollection<ListPage<T>>(kc, path, query);
      return { ...whole, items: whole.items.map(each) };
    }
    first ??= page;
    for (const o of page.items) items.push(each(o));
    token = page.metadata?.continue;
    if (!token) break;
  }
  const { continue: _c, remainingItemCount: _r, ...meta } = first.metadata ?? {};
  return { ...(first.apiVersion !== undefined ? { apiVersion: first.apiVersion } : {}), ...(first.kind !== undefined ? { kind: first.kind } : {}), metadata: meta, items };
}

/** GET `path` (a collection) from the current cluster of `kc`; resolves to the parsed list. */
export async function listCollection<L>(kc: KubeConfig, path: string, query: ListQuery, timeoutMs = 60_000): Promise<L> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No currently active cluster');
  const url = new URL(cluster.server + path);
  if (query.labelSelector) url.searchParams.set('labelSelector', query.labelSelector);
  if (query.fieldSelector) url.searchParams.set('fieldSelector', query.fieldSelector);
  if (query.limit) url.searchParams.set('limit', String(query.limit));
  if (query.continue) url.searchParams.set('continue', query.continue);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const lib = url.protocol === 'https:' ? https : http;
  // client-node's authenticators set headers as an object (Authorization).
  const headers: http.OutgoingHttpHeaders = { ...(opts.headers as http.OutgoingHttpHeaders | undefined), Accept: 'application/json' };
  return new Promise<L>((resolve, reject) => {
    const req = lib.request(
      url,
      { method: 'GET', headers, ...(opts.agent !== undefined ? { agent: opts.agent } : {}), ...(opts.auth ? { auth: opts.auth } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new ApiListError(res.statusCode ?? 0, text, path));
            return;
          }
          try {
            resolve(JSON.parse(text) as L);
          } catch (err) {
            reject(new Error(`listing ${path}: the apiserver's answer is not JSON: ${err instanceof Error ? err.message : String(err)}`));
          }
        });
      },
    );
    // A list that hangs would hold the informer forever; failing it lets the backoff retry.
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`listing ${path} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}
