// One way to open an HTTP listener for every server the daemon runs (healthz, metrics,
// healthCheckNodePorts): parse a "host:port" bind address, wait until listening (so bind errors
// surface to the caller instead of as an unhandled 'error' event), turn handler failures into 500s,
// and close quickly even with keep-alive clients connected.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';

/** A handler may be async; a rejection becomes a 500 and an error log line. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpListener {
  /** The address actually bound (e.g. "127.0.0.1", "::"). */
  readonly host: string;
  /** The port actually bound (useful when asked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export interface BindAddress {
  /** Undefined means all addresses (IPv6 and IPv4 where available). */
  readonly host: string | undefined;
  readonly port: number;
}

/**
 * Parse "host:port", "[v6]:port" or ":port" (all addresses). "0.0.0.0" and "::" are kept as given,
 * like upstream, which binds exactly the address in the flag.
 */
export function parseBindAddress(address: string): BindAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(address.trim());
  if (!m) throw new Error(`invalid bind address ${JSON.stringify(address)}: want host:port or [ipv6]:port`);
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535) throw new Error(`invalid port in bind address ${JSON.stringify(address)}`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? undefined : host, port };
}

/** Listen on a parsed address. Rejects on bind errors (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
export function listenHttp(bind: BindAddress, handler: HttpHandler, logger: Logger): Promise<HttpListener> {
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        logger.error('HTTP handler failed', { path: req.url, err });
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
  });
  // A health prober must never hold a connection open for long.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: bind.host, port: bind.port }, () => {
      server.off('error', onError);
      // Errors after listening (rare: EMFILE on accept) are logged rather than crashing the daemon.
      server.on('error', (err) => logger.error('HTTP server error', { err }));
      const addr = server.address() as AddressInfo;
      resolve({
        host: addr.address,
        port: addr.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Parse `bindAddress` and listen on it. */
export function startHttpServer(bindAddress: string, handler: HttpHandler, logger: Logger): Promise<HttpListener> {
  return listenHttp(parseBindAddress(bindAddress), handler, logger);
}

/** Write a complete response with a body and content type. */
export function respond(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/** The request path without its query string. */
export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
