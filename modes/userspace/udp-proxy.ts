// One UDP listener of the userspace proxy. UDP has no connections, so a "session" is keyed by the
// client's address:port: it owns a socket connected to the endpoint picked for that client, and
// replies from the endpoint are sent back to the client from the listener socket (so conntrack
// un-NATs them to the service address). Sessions end after an idle timeout, and their number is
// bounded: when full, the oldest session is evicted.

import dgram from 'node:dgram';
import type { Clock, TimerHandle } from '../../sync/clock.js';
import type { Target } from './balancer.js';
import { clientAddress } from './balancer.js';

export interface UdpProxyHooks {
  pick(clientIP: string): Target | undefined;
  onDialError(target: Target, err: Error): void;
  onSessionOpen(): void;
  onSessionClose(bytesToEndpoint: number, bytesToClient: number): void;
  /** A datagram was dropped because the service port has no endpoint. */
  onNoEndpoint(clientIP: string): void;
}

export interface UdpProxyOptions {
  readonly host: string;
  readonly port?: number;
  readonly idleTimeoutMs: number;
  readonly maxSessions?: number;
  readonly clock: Clock;
  readonly hooks: UdpProxyHooks;
}

/** Upstream's userspace default (udpIdleTimeout). */
export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 250;
export const DEFAULT_MAX_UDP_SESSIONS = 4096;
/** Datagrams queued per session while its socket connects; more are dropped, as a network would. */
const MAX_PENDING = 64;

interface Session {
  readonly key: string;
  readonly clientHost: string;
  readonly clientPort: number;
  readonly target: Target;
  readonly socket: dgram.Socket;
  connected: boolean;
  pending: Buffer[];
  lastActive: number;
  timer: TimerHandle | undefined;
  bytesOut: number;
  bytesIn: number;
}

export class UdpProxy {
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  private constructor(
    private readonly listener: dgram.Socket,
    readonly host: string,
    readonly port: number,
    private readonly opts: UdpProxyOptions,
  ) {}

  static listen(opts: UdpProxyOptions): Promise<UdpProxy> {
    const socket = dgram.createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: opts.host, port: opts.port ?? 0 }, () => {
        socket.off('error', reject);
        const proxy = new UdpProxy(socket, opts.host, socket.address().port, opts);
        socket.on('message', (msg, rinfo) => proxy.fromClient(msg, rinfo.address, rinfo.port));
        // Send errors (e.g. the client's ICMP unreachable) must not crash the daemon.
        socket.on('error', () => undefined);
        resolve(proxy);
      });
    });
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Endpoint ids that live sessions are bound to (for tests and describe). */
  sessionTargets(): string[] {
    return [...this.sessions.values()].map((s) => s.target.id);
  }

  /** Drop sessions bound to endpoints that are gone: UDP has no connection worth draining. */
  retainTargets(ids: ReadonlySet<string>): void {
    for (const s of [...this.sessions.values()]) if (!ids.has(s.target.id)) this.endSession(s);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.sessions.values()]) this.endSession(s);
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private fromClient(msg: Buffer, host: string, port: number): void {
    const key = `${host}|${port}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = this.openSession(key, host, port);
      if (!session) return;
    }
    session.lastActive = this.opts.clock.now();
    session.bytesOut += msg.length;
    if (session.connected) session.socket.send(msg);
    else if (session.pending.length < MAX_PENDING) session.pending.push(msg);
  }

  private openSession(key: string, host: string, port: number): Session | undefined {
    const ip = clientAddress(host);
    const target = this.opts.hooks.pick(ip);
    if (!target) {
      this.opts.hooks.onNoEndpoint(ip);
      return undefined;
    }
    const max = this.opts.maxSessions ?? DEFAULT_MAX_UDP_SESSIONS;
    while (this.sessions.size >= max) {
      const oldest = this.sessions.values().next().value;
      if (!oldest) break;
      this.endSession(oldest);
    }
    const socket = dgram.createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    const session: Session = {
      key,
      clientHost: host,
      clientPort: port,
      target,
      socket,
      connected: false,
      pending: [],
      lastActive: this.opts.clock.now(),
      timer: undefined,
      bytesOut: 0,
      bytesIn: 0,
    };
    this.sessions.set(key, session);
    this.opts.hooks.onSessionOpen();
    socket.on('message', (reply) => {
      session.lastActive = this.opts.clock.now();
      session.bytesIn += reply.length;
      this.listener.send(reply, session.clientPort, session.clientHost);
    });
    socket.on('error', (err) => {
      this.opts.hooks.onDialError(target, err);
      this.endSession(session);
    });
    socket.connect(target.port, target.host, () => {
      session.connected = true;
      for (const m of session.pending) socket.send(m);
      session.pending = [];
    });
    this.armIdleTimer(session, this.opts.idleTimeoutMs);
    return session;
  }

  // One timer per session, re-armed only when it fires, instead of being reset per datagram.
  private armIdleTimer(session: Session, ms: number): void {
    session.timer = this.opts.clock.setTimeout(() => {
      session.timer = undefined;
      if (this.sessions.get(session.key) !== session) return;
      const idle = this.opts.clock.now() - session.lastActive;
      if (idle >= this.opts.idleTimeoutMs) this.endSession(session);
      else this.armIdleTimer(session, this.opts.idleTimeoutMs - idle);
    }, ms);
  }

  private endSession(session: Session): void {
    if (this.sessions.get(session.key) !== session) return;
    this.sessions.delete(session.key);
    if (session.timer) this.opts.clock.clearTimeout(session.timer);
    session.socket.close();
    this.opts.hooks.onSessionClose(session.bytesOut, session.bytesIn);
  }
}
