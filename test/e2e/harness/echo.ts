// Echo servers: the "pods" behind services in e2e tests. See echo-server.mjs for the protocol.

import { spawnReady, type Helper } from './spawn.js';

export const ECHO_TCP_PORT = 8080;
export const ECHO_HTTP_PORT = 8081;
export const ECHO_UDP_PORT = 8080;

export interface EchoOptions {
  /** 0 disables that listener. Defaults: TCP 8080, HTTP 8081, UDP 8080. */
  readonly tcpPort?: number;
  readonly httpPort?: number;
  readonly udpPort?: number;
}

/** Start an echo server in `ns` answering with `name`; resolves once it listens. */
export function startEcho(ns: string, name: string, opts: EchoOptions = {}): Promise<Helper> {
  return spawnReady(ns, 'echo-server.mjs', [
    '--name',
    name,
    '--tcp',
    String(opts.tcpPort ?? ECHO_TCP_PORT),
    '--http',
    String(opts.httpPort ?? ECHO_HTTP_PORT),
    '--udp',
    String(opts.udpPort ?? ECHO_UDP_PORT),
  ]);
}
