// A stand-in kube-apiserver for tests, speaking enough of the real wire protocol (List JSON,
// chunked newline-delimited watch streams, resourceVersions, bookmarks, 410 Gone, bearer auth) for
// the unmodified @kubernetes/client-node informers. Never imported by production code.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { KubeJson, StoredEvent } from './history.js';
import { resolvePath, type ResourceInfo, type ResourceName } from './resources.js';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type FieldRequirement,
  type LabelRequirement,
} from './selectors.js';
import { ObjectStore, type ObjectLike } from './store.js';
import { generateSelfSignedCert } from './tls.js';

export interface TestApiServerOptions {
  /** Bearer token clients must present; random when omitted. */
  readonly token?: string;
  /** Serve HTTPS with a runtime self-signed certificate (falls back to HTTP without openssl). */
  readonly https?: boolean;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Also serve the same API, as plain HTTP, on this unix socket. */
  readonly unixSocket?: string;
  /** Interval of BOOKMARK events on watches that allow them. Default 1000 ms. */
  readonly bookmarkIntervalMs?: number;
  /** Number of change events kept for watch replay. Default 1000. */
  readonly historySize?: number;
}

export type UnavailableMode = '503' | 'reset';
/** Answer every request as an apiserver that does not accept the credentials (401) or lacks RBAC (403). */
export type RejectCode = 401 | 403;

interface OpenWatch {
  readonly res: http.ServerResponse;
  readonly resource: ResourceName;
  close(): void;
}

interface Filter {
  readonly resource: ResourceInfo;
  readonly namespace: string | undefined;
  readonly labels: readonly LabelRequirement[];
  readonly fields: readonly FieldRequirement[];
}

type AnyServer = http.Server | https.Server;

function status(code: number, reason: string, message: string): KubeJson {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class TestApiServer {
  readonly token: string;
  /** PEM of the serving certificate (also its CA) when serving HTTPS. */
  readonly caPem: string | undefined;
  private readonly store: ObjectStore;
  private readonly servers: AnyServer[] = [];
  private readonly watches = new Set<OpenWatch>();
  /** Raw sockets of every listener: closeAllConnections() misses TLS ones mid-handshake or idle. */
  private readonly sockets = new Set<Socket>();
  private readonly listCounts = new Map<ResourceName, number>();
  private readonly watchCounts = new Map<ResourceName, number>();
  private readonly pagedLists: PagedListRequest[] = [];
  private available = true;
  private unavailableMode: UnavailableMode = '503';
  private rejecting: RejectCode | undefined;
  private rejected = 0;
  private tcpUrl = '';
  private unixPath: string | undefined;

  private constructor(
    private readonly opts: TestApiServerOptions,
    private readonly tls: { certPem: string; keyPem: string } | undefined,
  ) {
    this.token = opts.token ?? randomBytes(16).toString('hex');
    this.caPem = tls?.certPem;
    this.store = new ObjectStore(opts.historySize ?? 1000);
  }

  static async start(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
    const tls = opts.https ? await generateSelfSignedCert() : undefined;
    const srv = new TestApiServer(opts, tls);
    await srv.listenTcp(opts.port ?? 0);
    if (opts.unixSocket) await srv.listenUnix(opts.unixSocket);
    return srv;
  }

  /** Base URL of the TCP listener, e.g. https://127.0.0.1:34567 (no trailing slash). */
  get url(): string {
    return this.tcpUrl;
  }

  get isHttps(): boolean {
    return this.tls !== undefined;
  }

  get unixSocketPath(): string | undefined {
    return this.unixPath;
  }

  // ---- test hooks -------------------------------------------------------------------------

  create(obj: ObjectLike): KubeJson {
    return this.store.create(obj);
  }
  update(obj: ObjectLike): KubeJson {
    return this.store.update(obj);
  }
  upsert(obj: ObjectLike): KubeJson {
    return this.store.upsert(obj);
  }
  delete(obj: ObjectLike): KubeJson | undefined {
    return this.store.delete(obj);
  }
  get(resource: ResourceName, namespace: string, name: string): KubeJson | undefined {
    return this.store.get(resource, namespace, name);
  }
  resourceVersion(): number {
    return this.store.currentRv();
  }

  /** Destroy every open watch connection, as a network failure would. */
  dropWatches(): void {
    for (const w of [...this.watches]) {
      w.close();
      w.res.destroy();
    }
  }

  /** Forget the change history: a watch from any older resourceVersion now gets 410 Gone. */
  compactHistory(): void {
    this.store.compact();
  }

  /**
   * While unavailable every request fails: with a 503 Status ('503') or by resetting the
   * connection before any response ('reset', what a client sees from a dead endpoint).
   */
  setAvailable(available: boolean, mode: UnavailableMode = '503'): void {
    this.available = available;
    this.unavailableMode = mode;
    if (!available) this.dropWatches();
  }

  /** While set, every API request is refused with this status, as a real apiserver words it. */
  setRejecting(code: RejectCode | undefined): void {
    this.rejecting = code;
    if (code !== undefined) this.dropWatches();
  }

  /**
   * Stop listening, as a dead apiserver process: open connections are cut and new ones refused.
   * The objects and their history survive for restart(), like etcd behind a restarted apiserver.
   */
  async stop(): Promise<void> {
    await this.closeListeners();
  }

  /** Listen again on the same port (and unix socket) after stop(). */
  async restart(): Promise<void> {
    if (this.servers.length > 0) throw new Error('test apiserver is still running');
    await this.listenTcp(Number(new URL(this.tcpUrl).port));
    if (this.unixPath) await this.listenUnix(this.unixPath);
  }

  /** Requests answered 401/403 (a wrong token, or setRejecting). */
  rejectedRequests(): number {
    return this.rejected;
  }

  /** Every list request that asked for pages (limit=), in order: what a test checks paging with. */
  pagedListRequests(resource: ResourceName): readonly PagedListRequest[] {
    return this.pagedLists.filter((r) => r.resource === resource);
  }

  listRequests(resource: ResourceName): number {
    return this.listCounts.get(resource) ?? 0;
  }
  watchRequests(resource: ResourceName): number {
    return this.watchCounts.get(resource) ?? 0;
  }
  openWatches(resource?: ResourceName): number {
    return [...this.watches].filter((w) => resource === undefined || w.resource === resource).length;
  }

  async close(): Promise<void> {
    await this.closeListeners();
    if (this.unixPath) rmSync(this.unixPath, { force: true });
  }

  private async closeListeners(): Promise<void> {
    this.dropWatches();
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
            for (const sock of this.sockets) sock.destroy();
          }),
      ),
    );
  }

  // ---- listeners ----------------------------------------------------------------------------

  private async listenTcp(port: number): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    const server: AnyServer = this.tls
      ? https.createServer({ cert: this.tls.certPem, key: this.tls.keyPem }, handler)
      : http.createServer(handler);
    this.track(server);
    await listen(server, (cb) => server.listen(port, '127.0.0.1', cb));
    const addr = server.address() as AddressInfo;
    this.tcpUrl = `${this.tls ? 'https' : 'http'}://127.0.0.1:${addr.port}`;
    this.servers.push(server);
  }

  /** Serve the same API as plain HTTP on a unix socket (reachable from other network namespaces). */
  async listenUnix(path: string): Promise<void> {
    rmSync(path, { force: true });
    const server = http.createServer((req, res) => this.handle(req, res));
    this.track(server);
    await listen(server, (cb) => server.listen(path, cb));
    this.unixPath = path;
    this.servers.push(server);
  }

  private track(server: AnyServer): void {
    server.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
  }

  // ---- request handling -----------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.available) {
      if (this.unavailableMode === 'reset') {
        req.socket.destroy();
        return;
      }
      this.send(res, 503, status(503, 'ServiceUnavailable', 'the test apiserver is unavailable'));
      return;
    }
    if (this.rejecting === 401 || (this.token && req.headers.authorization !== `Bearer ${this.token}`)) {
      this.rejected++;
      this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.rejecting === 403) {
      this.rejected++;
      const resource = resolvePath(url.pathname)?.resource.name ?? 'the resource';
      const verb = url.searchParams.get('watch') === 'true' ? 'watch' : 'list';
      this.send(
        res,
        403,
        status(403, 'Forbidden', `${resource} is forbidden: User "system:serviceaccount:kube-system:kube-proxy" cannot ${verb} resource "${resource}" at the cluster scope`),
      );
      return;
    }
    if (req.method !== 'GET') {
      this.send(res, 405, status(405, 'MethodNotAllowed', `${req.method ?? ''} is not supported`));
      return;
    }
    if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    if (url.pathname === '/version') {
      this.send(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0-test-apiserver' });
      return;
    }
    const target = resolvePath(url.pathname);
    if (!target) {
      this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource`));
      return;
    }
    let filter: Filter;
    try {
      filter = {
        resource: target.resource,
        namespace: target.namespace,
        labels: parseLabelSelector(url.searchParams.get('labelSelector') ?? ''),
        fields: parseFieldSelector(url.searchParams.get('fieldSelector') ?? ''),
      };
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      this.send(res, 400, status(400, 'BadRequest', e.message));
      return;
    }
    const watch = url.searchParams.get('watch');
    if (target.name !== undefined) {
      this.getOne(res, target.resource, target.namespace ?? '', target.name);
    } else if (watch === 'true' || watch === '1') {
      this.startWatch(req, res, filter, url.searchParams);
    } else {
      this.list(res, filter, url.searchParams);
    }
  }

  private getOne(res: http.ServerResponse, resource: ResourceInfo, namespace: string, name: string): void {
    const obj = this.store.get(resource.name, namespace, name);
    if (!obj) {
      this.send(res, 404, status(404, 'NotFound', `${resource.name} "${name}" not found`));
      return;
    }
    this.send(res, 200, { kind: resource.kind, ...obj });
  }

  /**
   * A list, paged as the real apiserver pages it when asked (`limit`, `continue`): items in key
   * order; a page that is not the last carries metadata.continue and remainingItemCount; every
   * page is served at the first page's resourceVersion (store.listAt), and a continue token older
   * than the history answers 410 Expired, after which a client lists again from the start.
   */
  private list(res: http.ServerResponse, f: Filter, q: URLSearchParams): void {
    this.listCounts.set(f.resource.name, this.listRequests(f.resource.name) + 1);
    const limit = Number(q.get('limit') ?? '0');
    const token = q.get('continue') ?? '';
    if (limit > 0) this.pagedLists.push({ resource: f.resource.name, limit, continued: token !== '' });
    let rv = this.store.currentRv();
    let start = '';
    let objects: KubeJson[];
    if (token !== '') {
      const c = decodeContinue(token);
      if (!c) {
        this.send(res, 400, status(400, 'BadRequest', `invalid continue token`));
        return;
      }
      const at = this.store.listAt(f.resource.name, c.rv);
      if (at === 'expired') {
        this.send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
        return;
      }
      ({ rv, start } = c);
      objects = at;
    } else objects = this.store.list(f.resource.name);
    const matching = objects
      .filter((o) => this.matches(f, o) && keyOf(o) >= start)
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    const page = limit > 0 ? matching.slice(0, limit) : matching;
    const remaining = matching.length - page.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (remaining > 0) {
      // As the real apiserver's token: the list's resourceVersion and the key to start after.
      metadata['continue'] = encodeContinue({ rv, start: keyOf(page.at(-1)!) + '\u0000' });
      metadata['remainingItemCount'] = remaining;
    }
    this.send(res, 200, {
      kind: f.resource.listKind,
      apiVersion: f.resource.apiVersion,
      metadata,
      // Items of a real List carry neither kind nor apiVersion.
      items: page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
    });
  }

  private startWatch(req: http.IncomingMessage, res: http.ServerResponse, f: Filter, q: URLSearchParams): void {
    this.watchCounts.set(f.resource.name, this.watchRequests(f.resource.name) + 1);
    const rvParam = q.get('resourceVersion') ?? '';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const write = (type: string, object: KubeJson): void => {
      if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify({ type, object }) + '\n');
    };

    // Replay first, then subscribe, with no await in between so no change can slip through.
    if (rvParam === '' || rvParam === '0') {
      // "Any version": like the real apiserver, start with synthetic ADDED events for the state.
      for (const o of this.store.list(f.resource.name)) {
        if (this.matches(f, o)) write('ADDED', { kind: f.resource.kind, ...o });
      }
    } else {
      const rv = Number(rvParam);
      const events = Number.isInteger(rv) ? this.store.since(rv) : 'expired';
      if (events === 'expired') {
        write(
          'ERROR',
          status(410, 'Expired', `too old resource version: ${rvParam} (${this.store.oldestAvailable()})`),
        );
        res.end();
        return;
      }
      for (const e of events) this.deliver(f, e, write);
    }

    const unsubscribe = this.store.subscribe((e) => this.deliver(f, e, write));
    const timers: NodeJS.Timeout[] = [];
    const w: OpenWatch = {
      res,
      resource: f.resource.name,
      close: () => {
        unsubscribe();
        for (const t of timers) clearTimeout(t);
        this.watches.delete(w);
      },
    };
    this.watches.add(w);
    res.on('close', () => w.close());
    req.on('close', () => w.close());

    if (q.get('allowWatchBookmarks') === 'true') {
      timers.push(
        setInterval(() => {
          write('BOOKMARK', {
            kind: f.resource.kind,
            apiVersion: f.resource.apiVersion,
            metadata: { resourceVersion: String(this.store.currentRv()) },
          });
        }, this.opts.bookmarkIntervalMs ?? 1000),
      );
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    if (timeoutSeconds > 0) {
      timers.push(
        setTimeout(() => {
          w.close();
          res.end();
        }, timeoutSeconds * 1000),
      );
    }
  }

  /**
   * Sends one stored change as this watch sees it: a label-selected watch sees an object that
   * starts matching as ADDED and one that stops matching as DELETED, as on a real apiserver.
   */
  private deliver(f: Filter, e: StoredEvent, write: (type: string, o: KubeJson) => void): void {
    if (e.resource !== f.resource.name) return;
    const now = this.matches(f, e.object);
    const before = e.previous !== undefined && this.matches(f, e.previous);
    const obj = { kind: f.resource.kind, ...e.object };
    if (e.type === 'ADDED' && now) write('ADDED', obj);
    else if (e.type === 'DELETED' && (before || now)) write('DELETED', obj);
    else if (e.type === 'MODIFIED') {
      if (now && before) write('MODIFIED', obj);
      else if (now) write('ADDED', obj);
      else if (before) write('DELETED', obj);
    }
  }

  private matches(f: Filter, o: KubeJson): boolean {
    const meta = o.metadata ?? {};
    if (f.namespace !== undefined && meta.namespace !== f.namespace) return false;
    return matchesLabels(f.labels, meta.labels) && matchesFields(f.fields, meta);
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}

export interface PagedListRequest {
  readonly resource: ResourceName;
  readonly limit: number;
  /** A later page (continue= given). */
  readonly continued: boolean;
}

interface ContinueToken {
  readonly rv: number;
  readonly start: string;
}

function encodeContinue(c: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: c.rv, start: c.start })).toString('base64url');
}

function decodeContinue(token: string): ContinueToken | undefined {
  try {
    const j = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (j.v !== 'meta.k8s.io/v1' || typeof j.rv !== 'number' || typeof j.start !== 'string') return undefined;
    return { rv: j.rv, start: j.start };
  } catch {
    return undefined;
  }
}

function keyOf(o: KubeJson): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function listen(server: AnyServer, start: (cb: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    start(() => {
      server.off('error', reject);
      resolve();
    });
  });
}
