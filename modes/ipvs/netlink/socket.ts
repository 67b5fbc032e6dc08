// The only place that touches a real netlink socket. It wraps the `netlink` npm package's
// RawNetlinkSocket (a small N-API addon with prebuilt binaries: socket(AF_NETLINK, SOCK_RAW,
// proto), bind, sendto and libuv-driven recvmsg delivering one Buffer per datagram) and
// exposes only datagram send/receive: all framing, sequencing and parsing stay in pure code.
//
// The package is loaded with require() against a minimal local type, so this project's types
// do not depend on the package's typings and nothing else imports it.

import { createRequire } from 'node:module';
import { NETLINK_GENERIC } from './constants.js';

/** Datagram transport the IPVS client runs on; tests substitute a fake kernel. */
export interface NetlinkTransport {
  send(datagram: Buffer): Promise<void>;
  /** Every received datagram (possibly several netlink messages) is passed here. */
  onDatagram(handler: (datagram: Buffer) => void): void;
  onError(handler: (err: Error) => void): void;
  /** Keep the event loop alive (while requests are outstanding) or not (when idle). */
  setActive(active: boolean): void;
  close(): void;
}

interface RawSocket {
  send(msg: Uint8Array, options: { port?: number }, callback: (error?: Error) => void): void;
  on(event: 'message', listener: (msg: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  ref(): void;
  unref(): void;
  close(): void;
}

interface NetlinkModule {
  RawNetlinkSocket: new (protocol: number, options?: Record<string, unknown>) => RawSocket;
}

let loaded: NetlinkModule | undefined;

function loadNetlink(): NetlinkModule {
  if (!loaded) {
    try {
      loaded = createRequire(import.meta.url)('netlink') as NetlinkModule;
    } catch (e) {
      throw new Error(`cannot load the "netlink" package (npm install netlink@0.3.0): ${(e as Error).message}`);
    }
  }
  return loaded;
}

/** Open a NETLINK_GENERIC socket bound to a kernel-chosen-free port id. */
export function openGenericNetlink(): NetlinkTransport {
  const { RawNetlinkSocket } = loadNetlink();
  const sock = new RawNetlinkSocket(NETLINK_GENERIC);
  sock.unref();
  return {
    send: (datagram) =>
      new Promise((resolve, reject) => sock.send(datagram, { port: 0 }, (err) => (err ? reject(err) : resolve()))),
    onDatagram: (handler) => void sock.on('message', handler),
    onError: (handler) => void sock.on('error', handler),
    setActive: (active) => (active ? sock.ref() : sock.unref()),
    close: () => sock.close(),
  };
}
