// The only place that touches a real netlink socket. It wraps the `netlink` npm package's
// RawNetlinkSocket (a small N-API addon with prebuilt binaries: socket(AF_NETLINK, SOCK_RAW,
// proto), bind, sendmsg and libuv-driven recvmsg delivering one Buffer per datagram) and
// exposes only datagram send/receive: all framing, sequencing and parsing stay in pure code.
// IPVS mode opens it for NETLINK_GENERIC, nftables mode for NETLINK_NETFILTER.
//
// The package is loaded with require() against a minimal local type, so this project's types
// do not depend on the package's typings and nothing else imports it.

import { createRequire } from 'node:module';
import { NETLINK_GENERIC, NETLINK_NETFILTER } from './constants.js';

/** Datagram transport the netlink clients run on; tests substitute a fake kernel. */
export interface NetlinkTransport {
  /** Send one datagram (one sendmsg: an nf_tables batch must arrive as a single datagram). */
  send(datagram: Buffer): Promise<void>;
  /** Every received datagram (possibly several netlink messages) is passed here. */
  onDatagram(handler: (datagram: Buffer) => void): void;
  onError(handler: (err: Error) => void): void;
  /** Keep the event loop alive (while requests are outstanding) or not (when idle). */
  setActive(active: boolean): void;
  close(): void;
  /** The socket's receive buffer in bytes (SO_RCVBUF as the kernel reports it), when known. */
  readonly recvBufferBytes?: number;
}

export interface NetlinkSocketOptions {
  /** SO_RCVBUF in bytes: large dumps and many ACKs arrive faster than one event-loop turn. */
  readonly recvBufferSize?: number;
  /** SO_SNDBUF in bytes: a batch is one datagram and must fit. */
  readonly sendBufferSize?: number;
}

interface RawSocket {
  send(msg: Uint8Array, options: { port?: number }, callback: (error?: Error) => void): void;
  on(event: 'message', listener: (msg: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  ref(): void;
  unref(): void;
  close(): void;
  setRecvBufferSize(size: number): unknown;
  setSendBufferSize(size: number): unknown;
  getRecvBufferSize(): number;
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

/** Open a netlink socket of `protocol`, bound to a free port id. */
export function openNetlinkSocket(protocol: number, opts: NetlinkSocketOptions = {}): NetlinkTransport {
  const { RawNetlinkSocket } = loadNetlink();
  const sock = new RawNetlinkSocket(protocol);
  // SO_RCVBUF/SO_SNDBUF are capped by net.core.{r,w}mem_max for an unprivileged setsockopt; a
  // failure here only means smaller buffers, which the clients survive (ENOBUFS is reported).
  try {
    if (opts.recvBufferSize) sock.setRecvBufferSize(opts.recvBufferSize);
    if (opts.sendBufferSize) sock.setSendBufferSize(opts.sendBufferSize);
  } catch {
    /* keep the defaults */
  }
  sock.unref();
  let recvBufferBytes: number | undefined;
  try {
    recvBufferBytes = sock.getRecvBufferSize();
  } catch {
    recvBufferBytes = undefined;
  }
  return {
    ...(recvBufferBytes !== undefined ? { recvBufferBytes } : {}),
    send: (datagram) =>
      new Promise((resolve, reject) => sock.send(datagram, { port: 0 }, (err) => (err ? reject(err) : resolve()))),
    // An exception thrown into the addon's callbacks aborts the whole process (a C++ Napi::Error
    // in a libuv callback), so handler failures must never escape: they are reported instead.
    onDatagram: (handler) =>
      void sock.on('message', (msg) => {
        try {
          handler(msg);
        } catch (e) {
          process.emitWarning(`netlink datagram handler failed: ${(e as Error).message}`);
        }
      }),
    onError: (handler) =>
      void sock.on('error', (err) => {
        try {
          handler(err);
        } catch (e) {
          process.emitWarning(`netlink error handler failed: ${(e as Error).message}`);
        }
      }),
    setActive: (active) => {
      // The addon closes the socket itself after a poll error (e.g. ENOBUFS); ref/unref/close
      // on a closed socket throw, which must not reach the addon's callback either.
      try {
        if (active) sock.ref();
        else sock.unref();
      } catch {
        /* closed */
      }
    },
    close: () => {
      try {
        sock.close();
      } catch {
        /* already closed by the addon after an error */
      }
    },
  };
}

/** A NETLINK_GENERIC socket (IPVS). */
export function openGenericNetlink(opts: NetlinkSocketOptions = {}): NetlinkTransport {
  return openNetlinkSocket(NETLINK_GENERIC, opts);
}

/** A NETLINK_NETFILTER socket (nf_tables). */
export function openNetfilterNetlink(opts: NetlinkSocketOptions = {}): NetlinkTransport {
  return openNetlinkSocket(NETLINK_NETFILTER, opts);
}
