// One TCP listener of the userspace proxy: accepts a connection, dials an endpoint (retrying other
// endpoints on refusal or timeout), then splices the two sockets.
//
// The hot path is forward(): one 'data' listener writing straight to the other socket and pausing
// the source while the destination is over its high-water mark (backpressure, so memory per
// connection is bounded), one 'drain' listener resuming it. Bytes are accounted once per connection from the sockets' own counters.

import net from 'node:net';
import type { Target } from './balancer.js';
import { clientAddress } from './balancer.js';

export interface TcpProxyHooks {
  /** The next endpoint for `clientIP`, excluding ones that already failed for this connection. */
  pick(clientIP: string, exclude: ReadonlySet<string>): Target | undefined;
  onDialError(target: Target, err: Error): void;
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
  readonly connectTimeoutMs?: number;
  /** Distinct endpoints tried per connection before giving up. */
  readonly maxAttempts?: number;
  readonly hooks: TcpProxyHooks;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Larger than the 16 KiB stream default so a loopback splice moves data in fewer, bigger writes. */
const HIGH_WATER_MARK = 64 * 1024;
// net.Socket forwards stream options such as highWaterMark to Duplex; the typings just omit them.
const UPSTREAM_SOCKET_OPTIONS: net.SocketConstructorOpts = Object.assign(
  { allowHalfOpen: true },
  { highWaterMark: HIGH_WATER_MARK },
);

export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private active = 0;

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static listen(opts: TcpProxyOptions): Promise<TcpProxy> {
    const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
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
        const proxy = new TcpProxy(server, opts.host, addr.port);
        server.on('connection', (client) => proxy.accept(client, opts.hooks, connectTimeoutMs, maxAttempts));
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
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private accept(client: net.Socket, hooks: TcpProxyHooks, timeoutMs: number, maxAttempts: number): void {
    this.track(client);
    const ip = clientAddress(client.remoteAddress);
    const tried = new Set<string>();
    let clientGone = false;
    let dialing: net.Socket | undefined;
    // While dialing, the client may vanish; an early error must not become an uncaught exception.
    const onEarlyError = (): void => {
      clientGone = true;
      dialing?.destroy();
    };
    client.on('error', onEarlyError);
    client.once('close', () => {
      clientGone = true;
      dialing?.destroy();
    });

    const dial = (): void => {
      const target = hooks.pick(ip, tried);
      if (!target) {
        hooks.onNoEndpoint(ip, tried.size);
        client.resetAndDestroy();
        return;
      }
      tried.add(target.id);
      const up = new net.Socket(UPSTREAM_SOCKET_OPTIONS);
      dialing = up;
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        dialing = undefined;
        up.destroy();
        hooks.onDialError(target, err);
        if (clientGone) return;
        if (tried.size < maxAttempts) dial();
        else {
          hooks.onNoEndpoint(ip, tried.size);
          client.resetAndDestroy();
        }
      };
      up.on('error', fail);
      up.setTimeout(timeoutMs, () => fail(new Error(`connect timeout after ${timeoutMs}ms`)));
      up.once('connect', () => {
        dialing = undefined;
        up.off('error', fail);
        up.setTimeout(0);
        if (clientGone) {
          up.destroy();
          return;
        }
        client.off('error', onEarlyError);
        this.splice(client, up, hooks);
      });
      up.connect({ host: target.host, port: target.port, noDelay: true });
    };
    dial();
  }

  private splice(client: net.Socket, up: net.Socket, hooks: TcpProxyHooks): void {
    this.track(up);
    this.active++;
    hooks.onConnectionOpen();
    let open = 2;
    const closed = (): void => {
      if (--open > 0) return;
      this.active--;
      hooks.onConnectionClose(up.bytesWritten, client.bytesWritten);
    };
    // An error (RST, EPIPE) on one side resets the other so the peer sees the failure too,
    // instead of a clean FIN that would look like a complete response.
    client.on('error', () => {
      if (!up.destroyed) up.resetAndDestroy();
    });
    up.on('error', () => {
      if (!client.destroyed) client.resetAndDestroy();
    });
    // A side that closed without having delivered its FIN to the other (we destroyed it) takes the
    // other down too; after a normal close forward() has already ended the other side's write half.
    client.once('close', () => {
      if (!up.destroyed && !up.writableEnded) up.destroy();
      closed();
    });
    up.once('close', () => {
      if (!client.destroyed && !client.writableEnded) client.destroy();
      closed();
    });
    // A client FIN becomes an upstream FIN while the reply keeps flowing (half-close), because
    // both sockets allow half-open.
    forward(client, up);
    forward(up, client);
  }
}

/**
 * Copies `src` to `dst` with backpressure: a full `dst` pauses `src` until it drains, so memory per
 * connection stays bounded by the high-water marks. Like pipe() minus its per-chunk bookkeeping
 * (unpipe, multiple destinations, awaitDrain counters): one data listener, one drain listener.
 */
function forward(src: net.Socket, dst: net.Socket): void {
  src.on('data', (chunk: Buffer) => {
    if (!dst.write(chunk)) src.pause();
  });
  dst.on('drain', () => src.resume());
  src.once('end', () => {
    if (!dst.destroyed) dst.end();
  });
  src.resume();
}
