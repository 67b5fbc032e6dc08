// Loopback backends and clients for the userspace proxy tests. Everything binds 127.0.0.1 on
// ephemeral ports and is closed by `closeAll`.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { createInterface } from 'node:readline';

export interface Closer {
  close(): Promise<void>;
}

export class Resources {
  private readonly items: Closer[] = [];
  add<T extends Closer>(c: T): T {
    this.items.push(c);
    return c;
  }
  async closeAll(): Promise<void> {
    await Promise.all(this.items.splice(0).map((c) => c.close()));
  }
}

export interface TcpBackend extends Closer {
  readonly port: number;
  readonly name: string;
  /** Sockets accepted so far. */
  readonly accepted: net.Socket[];
}

/** A TCP server on 127.0.0.1 running `handler` per connection; close() also kills its sockets. */
export async function tcpBackend(name: string, handler: (s: net.Socket) => void): Promise<TcpBackend> {
  const accepted: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted.push(s);
    s.on('error', () => undefined);
    handler(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    name,
    accepted,
    close: () =>
      new Promise((resolve) => {
        for (const s of accepted) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Replies with its name and closes. */
export const nameServer = (name: string): Promise<TcpBackend> =>
  tcpBackend(name, (s) => {
    s.end(name);
    s.resume();
  });

/** Echoes everything; ends its side after the client's FIN. */
export const echoServer = (name: string): Promise<TcpBackend> => tcpBackend(name, (s) => s.pipe(s));

/** A port on 127.0.0.1 with nothing listening (bound, then closed). */
export async function deadPort(): Promise<number> {
  const b = await tcpBackend('dead', () => undefined);
  await b.close();
  return b.port;
}

// A listener that never accepts: a child process listens with a backlog of 1 and then blocks its
// event loop. Once its accept queue is full (filled below), Linux drops further SYNs unanswered
// (tcp_conn_request: accept queue full -> drop; no RST): a real black hole on loopback, no root.
const BLACK_HOLE_CHILD = `
const net = require('node:net');
const s = net.createServer();
s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
});`;

/** A port on 127.0.0.1 whose SYNs go unanswered (see BLACK_HOLE_CHILD). */
export async function blackHole(): Promise<Closer & { readonly port: number }> {
  const child = spawn(process.execPath, ['-e', BLACK_HOLE_CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers: net.Socket[] = [];
  const close = async (): Promise<void> => {
    for (const f of fillers) f.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l)));
      child.once('exit', (code) => reject(new Error(`black hole child exited ${code}`)));
    });
    // Fill the accept queue: connections complete until it is full, then a SYN goes unanswered.
    for (let i = 0; i < 16; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => undefined);
      fillers.push(s);
      const connected = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 300);
        s.once('connect', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!connected) return { port, close };
    }
    throw new Error('black hole: every connection was answered');
  } catch (err) {
    await close();
    throw err;
  }
}

/** Connect, send `payload`, half-close, and collect the whole reply. */
export function tcpRequest(port: number, payload: Buffer | string = ''): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(chunks));
    });
    s.end(payload);
  });
}

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Write `msg` on an open socket and wait until `expected` bytes came back. */
export function roundTrip(s: net.Socket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (c: Buffer): void => {
      got += c.toString();
      if (got.length >= msg.length) {
        s.off('data', onData);
        s.off('error', reject);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(msg);
  });
}

export interface UdpBackend extends Closer {
  readonly port: number;
  readonly name: string;
  /** Distinct client address:port pairs seen (one per proxy session). */
  readonly peers: Set<string>;
}

/** Replies to each datagram with `<name>:<payload>`. */
export async function udpBackend(name: string): Promise<UdpBackend> {
  const sock = dgram.createSocket('udp4');
  const peers = new Set<string>();
  sock.on('message', (msg, r) => {
    peers.add(`${r.address}:${r.port}`);
    sock.send(`${name}:${msg.toString()}`, r.port, r.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return { port: sock.address().port, name, peers, close: () => new Promise((resolve) => sock.close(() => resolve())) };
}

export interface UdpClient extends Closer {
  ask(port: number, msg: string): Promise<string>;
}

export async function udpClient(): Promise<UdpClient> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return {
    ask: (port, msg) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no UDP reply')), 5000);
        sock.once('message', (reply) => {
          clearTimeout(timer);
          resolve(reply.toString());
        });
        sock.send(msg, port, '127.0.0.1');
      }),
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}
