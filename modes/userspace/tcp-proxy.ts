// One TCP listener of the userspace proxy: accepts a connection, dials an endpoint (retrying other
// endpoints on refusal or timeout), then splices the two sockets.
//
// Dialing follows upstream's proxysocket.go: attempt i gets EndpointDialTimeouts[i] (250 ms,
// 500 ms, 1 s, 2 s) and asks the balancer again, so an endpoint that black-holes SYNs costs the
// client 250 ms instead of a 2 s timeout the client may share; after the last attempt the client
// is reset. An endpoint that refused this connection is not picked again for it; one that timed
// out is picked again only when nothing else is left (a lone slow endpoint still gets the longer
// timeouts). Timeouts are reported so the dataplane can eject the endpoint (outliers.ts).
//
// Per connection there is one Conn object and one lasting closure (onread's buffer choice; each
// dial attempt's timer callback is garbage once the dial ends): every socket event goes to a
// module-level handler that finds its connection through a symbol property on the
// socket (the emitter is `this`). Idle connections therefore cost the two sockets plus two small
// objects, and hold no timer (the dial timer is cleared on connect) and no read buffer.
//
// Client → endpoint bytes take onData(): write straight to the other socket and pause the source
// only while the destination still has unsent bytes over its high-water mark (backpressure, so
// memory per connection is bounded); onDrain resumes it. A write the kernel took whole never
// pauses, so a bulk transfer does not stop and restart reading on every chunk.
//
// Endpoint → client bytes (responses, downloads: the bulk of most traffic) take onUpRead(), through
// net's `onread`: a read fills a buffer we supply instead of a new 64 KiB Buffer per read.
// - Until a connection shows bulk traffic, its reads go to one buffer shared by all endpoint
//   sockets and the client gets a copy of the bytes (what Node's default read path costs anyway),
//   so an idle or request/response connection holds no buffer of its own.
// - A read that fills the shared buffer marks the connection as bulk: from then on it reads into
//   a 256 KiB buffer of its own, written to the client without a copy. A busy connection then
//   allocates nothing, gives V8's GC no external memory to chase and needs fewer, larger reads;
//   this is what brought the proxy's CPU per byte below HAProxy's. Like HAProxy's buffer, it is
//   written out before it is read into again: while the client still holds bytes of it, the
//   endpoint socket stops reading.
// Bytes are accounted once per connection from the sockets' own counters.

import net from 'node:net';
import { realClock, type Clock } from '../../sync/clock.js';
import type { Target } from './balancer.js';
import { clientAddress } from './balancer.js';

export interface TcpProxyHooks {
  /**
   * The next endpoint for `clientIP`: never one in `exclude` (refused this connection), one in
   * `avoid` (timed out for this connection) only when nothing else is left.
   */
  pick(clientIP: string, exclude: ReadonlySet<string>, avoid: ReadonlySet<string>): Target | undefined;
  /** A dial attempt failed; `timedOut`: no answer within its timeout (rather than an error). */
  onDialError(target: Target, err: Error, timedOut: boolean): void;
  /** A dial attempt connected. */
  onDialSuccess(target: Target): void;
  onConnectionOpen(): void;
  /** Called once per connection that reached an endpoint, after both sockets closed. */
  onConnectionClose(bytesToEndpoint: number, bytesToClient: number): void;
  /** A connection was reset because no endpoint could be reached. */
  onNoEndpoint(clientIP: string, attempts: number): void;
}

export interface TcpProxyOptions {
  readonly host: string;
  /** 0 (default) picks an ephemeral port. */
  readonly port?: number;
  /** One dial attempt per entry, with that timeout. Default ENDPOINT_DIAL_TIMEOUTS_MS. */
  readonly dialTimeoutsMs?: readonly number[];
  readonly hooks: TcpProxyHooks;
  /** Dial timers (tests drive them with a FakeClock). Default: the process clock. */
  readonly timers?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Starts a dial on an endpoint socket (tests inject one). Default: socket.connect to the target. */
  readonly connect?: (socket: net.Socket, target: Target) => void;
}

/** Upstream's EndpointDialTimeouts (pkg/proxy/userspace/proxysocket.go). */
export const ENDPOINT_DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];
/** Larger than the 16 KiB stream default so a loopback splice moves data in fewer, bigger writes. */
const HIGH_WATER_MARK = 128 * 1024;
/**
 * A bulk connection's own read buffer: the most one read(2) takes. 256 KiB measured best on
 * loopback (64 KiB: more reads; 1 MiB: no gain).
 */
const UPSTREAM_READ_BYTES = 256 * 1024;
/** Where every endpoint socket reads until it shows bulk traffic (see the file comment). */
const SHARED_READ = Buffer.allocUnsafeSlow(64 * 1024);
const NO_EXCLUSIONS: ReadonlySet<string> = new Set();
const EMPTY = Buffer.alloc(0);

function upstreamSocketOptions(conn: Conn): net.SocketConstructorOpts {
  // net asks where each next read goes (after every read, without a `this`): the one closure a
  // connection costs.
  const onread: net.OnReadOpts = { buffer: () => conn.upBuffer ?? SHARED_READ, callback: onUpRead };
  // net.Socket takes onread and stream options such as highWaterMark; its typings omit them.
  const opts: net.SocketConstructorOpts & net.ConnectOpts & { highWaterMark: number } = {
    allowHalfOpen: true,
    highWaterMark: HIGH_WATER_MARK,
    onread,
  };
  return opts;
}

const DIALING = 0;
const SPLICED = 1;
const DONE = 2;

/** The connection a socket belongs to. */
const CONN = Symbol('kube-proxy-ts.conn');
type ProxySocket = net.Socket & { [CONN]: Conn };

class Conn {
  state: typeof DIALING | typeof SPLICED | typeof DONE = DIALING;
  /** The endpoint socket: the current dial attempt while DIALING. */
  up: ProxySocket | undefined = undefined;
  target: Target | undefined = undefined;
  /** Endpoints that refused (or otherwise failed) this connection; allocated on a first failure. */
  refused: Set<string> | undefined = undefined;
  /** Endpoints whose dial timed out for this connection; allocated on a first timeout. */
  timedOut: Set<string> | undefined = undefined;
  attempts = 0;
  timer: object | undefined = undefined;
  /** Sockets not yet closed once spliced. */
  open = 2;
  /** The endpoint socket's own read buffer, once the connection showed bulk traffic. */
  upBuffer: Buffer | undefined = undefined;
  /** Resumes reading from the endpoint once the client took all of its read buffer. */
  private resumeUpFn: (() => void) | undefined = undefined;

  constructor(
    readonly proxy: TcpProxy,
    readonly client: ProxySocket,
    readonly ip: string,
  ) {}

  peer(s: net.Socket): net.Socket | undefined {
    return s === this.client ? this.up : this.client;
  }

  /** Allocated on the first backpressure only: most connections never need it. */
  get resumeUp(): () => void {
    return (this.resumeUpFn ??= () => this.up?.resume());
  }
}

export class TcpProxy {
  private readonly conns = new Set<Conn>();
  private active = 0;

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
    readonly hooks: TcpProxyHooks,
    readonly dialTimeoutsMs: readonly number[],
    readonly timers: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
    readonly connect: (socket: net.Socket, target: Target) => void,
  ) {}

  static listen(opts: TcpProxyOptions): Promise<TcpProxy> {
    const dialTimeoutsMs = opts.dialTimeoutsMs ?? ENDPOINT_DIAL_TIMEOUTS_MS;
    if (dialTimeoutsMs.length === 0 || dialTimeoutsMs.some((ms) => !(ms > 0))) {
      return Promise.reject(new Error(`dialTimeoutsMs must be positive numbers, got [${dialTimeoutsMs.join(', ')}]`));
    }
    const server = net.createServer({
      allowHalfOpen: true,
      // Paused until an endpoint answers: early client bytes wait in the kernel, not in our heap.
      pauseOnConnect: true,
      noDelay: true,
      highWaterMark: HIGH_WATER_MARK,
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port ?? 0 }, () => {
        server.off('error', reject);
        const addr = server.address() as net.AddressInfo;
        const proxy = new TcpProxy(server, opts.host, addr.port, opts.hooks, [...dialTimeoutsMs], opts.timers ?? realClock, opts.connect ?? connectTarget);
        server.on('connection', (client: net.Socket) => proxy.accept(client));
        // A listener error after bind (EMFILE on accept) must not crash the daemon.
        server.on('error', () => undefined);
        resolve(proxy);
      });
    });
  }

  /** Connections currently spliced to an endpoint. */
  get activeConnections(): number {
    return this.active;
  }

  /** Stop accepting; established connections finish on their own. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  /** Stop accepting and reset every connection (shutdown). */
  async close(): Promise<void> {
    const closed = this.stopAccepting();
    for (const c of this.conns) {
      c.client.destroy();
      c.up?.destroy();
    }
    this.conns.clear();
    await closed;
  }

  private accept(socket: net.Socket): void {
    const client = socket as ProxySocket;
    const conn = new Conn(this, client, clientAddress(client.remoteAddress));
    client[CONN] = conn;
    this.conns.add(conn);
    // While dialing, the client may vanish; an early error must not become an uncaught exception.
    client.on('error', onClientError);
    client.on('close', onClientClose);
    dial(conn);
  }

  /** @internal */
  splice(conn: Conn, up: ProxySocket): void {
    conn.state = SPLICED;
    this.active++;
    this.hooks.onConnectionOpen();
    const client = conn.client;
    // A client FIN becomes an upstream FIN while the reply keeps flowing (half-close), because
    // both sockets allow half-open.
    client.on('data', onData);
    client.on('end', onEnd);
    client.on('drain', onDrain);
    // The endpoint's bytes arrive through onUpRead (onread), not as 'data' events; resume() still
    // puts its stream in flowing mode so that its FIN is reported as 'end'.
    up.on('end', onEnd);
    up.on('drain', onDrain);
    up.resume();
    client.resume();
  }

  /** @internal Both sockets of a spliced connection closed, or the client left while dialing. */
  finish(conn: Conn): void {
    this.conns.delete(conn);
    if (conn.state !== SPLICED) {
      conn.state = DONE;
      return;
    }
    conn.state = DONE;
    this.active--;
    this.hooks.onConnectionClose(conn.up?.bytesWritten ?? 0, conn.client.bytesWritten);
  }
}

function connectTarget(socket: net.Socket, target: Target): void {
  socket.connect({ host: target.host, port: target.port, noDelay: true });
}

function clearDialTimer(conn: Conn): void {
  if (conn.timer === undefined) return;
  conn.proxy.timers.clearTimeout(conn.timer);
  conn.timer = undefined;
}

function dial(conn: Conn): void {
  const { proxy, client } = conn;
  const timeoutMs = proxy.dialTimeoutsMs[conn.attempts];
  const target = timeoutMs === undefined ? undefined : proxy.hooks.pick(conn.ip, conn.refused ?? NO_EXCLUSIONS, conn.timedOut ?? NO_EXCLUSIONS);
  if (!target || timeoutMs === undefined) {
    proxy.hooks.onNoEndpoint(conn.ip, conn.attempts);
    client.resetAndDestroy();
    return;
  }
  conn.attempts++;
  conn.target = target;
  const up = new net.Socket(upstreamSocketOptions(conn)) as ProxySocket;
  up[CONN] = conn;
  conn.up = up;
  up.on('error', onUpError);
  up.on('close', onUpClose);
  up.on('connect', onUpConnect);
  // The one closure per dial attempt (garbage once the dial ends); Clock timers take no arguments.
  conn.timer = proxy.timers.setTimeout(() => onDialTimeout(conn, up, timeoutMs), timeoutMs);
  proxy.connect(up, target);
}

/** The current dial attempt of `conn` failed: try the next endpoint or reset the client. */
function dialFailed(conn: Conn, up: ProxySocket, err: Error, timedOut: boolean): void {
  if (conn.state !== DIALING || conn.up !== up) return;
  clearDialTimer(conn);
  conn.up = undefined;
  up.destroy();
  const target = conn.target!;
  if (timedOut) (conn.timedOut ??= new Set()).add(target.id);
  else (conn.refused ??= new Set()).add(target.id);
  conn.proxy.hooks.onDialError(target, err, timedOut);
  if (conn.client.destroyed) return;
  dial(conn);
}

function onDialTimeout(conn: Conn, up: ProxySocket, timeoutMs: number): void {
  conn.timer = undefined;
  dialFailed(conn, up, new Error(`connect timeout after ${timeoutMs}ms`), true);
}

function onUpConnect(this: ProxySocket): void {
  const conn = this[CONN];
  this.removeListener('connect', onUpConnect);
  if (conn.up !== this || conn.state !== DIALING) return;
  clearDialTimer(conn);
  conn.refused = undefined;
  conn.timedOut = undefined;
  conn.proxy.hooks.onDialSuccess(conn.target!);
  if (conn.client.destroyed) {
    this.destroy();
    return;
  }
  conn.proxy.splice(conn, this);
}

// An error (RST, EPIPE) on one side resets the other so the peer sees the failure too, instead of
// a clean FIN that would look like a complete response.
function onUpError(this: ProxySocket, err: Error): void {
  const conn = this[CONN];
  if (conn.up !== this) return; // an abandoned dial attempt
  if (conn.state === DIALING) dialFailed(conn, this, err, false);
  else if (!conn.client.destroyed) conn.client.resetAndDestroy();
}

function onClientError(this: ProxySocket): void {
  const conn = this[CONN];
  const up = conn.up;
  if (!up) return;
  if (conn.state === DIALING) up.destroy();
  else if (!up.destroyed) up.resetAndDestroy();
}

// A side that closed without having delivered its FIN to the other (we destroyed it) takes the
// other down too; after a normal close onEnd has already ended the other side's write half.
function onClientClose(this: ProxySocket): void {
  const conn = this[CONN];
  const up = conn.up;
  if (conn.state === DIALING) {
    clearDialTimer(conn);
    up?.destroy();
    conn.proxy.finish(conn);
    return;
  }
  if (up && !up.destroyed && !up.writableEnded) up.destroy();
  if (--conn.open === 0) conn.proxy.finish(conn);
}

function onUpClose(this: ProxySocket): void {
  const conn = this[CONN];
  if (conn.up !== this || conn.state !== SPLICED) return;
  const client = conn.client;
  if (!client.destroyed && !client.writableEnded) client.destroy();
  if (--conn.open === 0) conn.proxy.finish(conn);
}

/** Client bytes to the endpoint. */
function onData(this: ProxySocket, chunk: Buffer): void {
  relay(this, this[CONN].peer(this)!, chunk);
}

/**
 * Copies a chunk to the other socket with backpressure: the source pauses only when the
 * destination kept bytes it could not hand to the kernel beyond its high-water mark, and resumes
 * on 'drain', so memory per connection stays bounded by the high-water marks. Like pipe() minus
 * its per-chunk bookkeeping.
 */
function relay(src: net.Socket, dst: net.Socket, chunk: Uint8Array): void {
  // write() reports false whenever the chunk alone reaches the high-water mark, even when the
  // kernel took all of it at once (writableLength back to 0, 'drain' comes on the next tick).
  if (!dst.write(chunk) && dst.writableLength > 0) src.pause();
}

/**
 * Endpoint bytes to the client. From the shared buffer: a copy, relayed like client bytes (its
 * next read may be another socket's). From the connection's own buffer: a view (no
 * copy); if the kernel did not take it all, the rest still points into the buffer, so reading
 * stops (return false) until an empty write queued behind it completes.
 */
function onUpRead(this: ProxySocket, n: number, buf: Uint8Array): boolean {
  const conn = this[CONN];
  const client = conn.client;
  if (conn.up !== this || client.destroyed) return false;
  if (buf === SHARED_READ) {
    if (n === SHARED_READ.length) conn.upBuffer = Buffer.allocUnsafeSlow(UPSTREAM_READ_BYTES);
    relay(this, client, Buffer.from(buf.subarray(0, n)));
    return true;
  }
  client.write(buf.subarray(0, n));
  if (client.writableLength === 0) return true;
  client.write(EMPTY, conn.resumeUp);
  return false;
}

function onDrain(this: ProxySocket): void {
  this[CONN].peer(this)!.resume();
}

function onEnd(this: ProxySocket): void {
  const dst = this[CONN].peer(this)!;
  if (!dst.destroyed) dst.end();
}
