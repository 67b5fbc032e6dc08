// The metrics endpoint (default 127.0.0.1:10249), with the paths upstream serves on it:
//   /metrics      Prometheus text from the injected ProxyMetrics registry
//   /configz      the effective configuration as JSON
//   /proxyMode    the active mode name as plain text
//   /healthz      "ok" (the server is up; proxy health lives on the healthz port)
// plus /debug/state (this project's JSON dump of the proxy's model and runner state),
// /debug/memory (process and V8 heap-space memory, memory-report.ts), /debug/explain and /debug/rules (for `kube-proxy-ts explain` and `kube-proxy-ts trace`).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { ProxyMetrics } from '../../sync/metrics.js';
import { requestPath, respond, startHttpServer, type HttpListener } from './listen.js';
import { memoryReport } from './memory-report.js';

export interface MetricsServerDeps {
  readonly metrics: ProxyMetrics;
  /** The mode name served on /proxyMode (e.g. "iptables"). */
  readonly mode: string;
  /** Effective configuration for /configz; called per request so it reflects reloads. */
  readonly configz: () => unknown;
  /** State dump for /debug/state. */
  readonly debugState: () => Promise<unknown>;
  /** /debug/explain?service=ns/name[:port]: one service's VIPs, endpoints and programmed rules. */
  readonly explain?: (service: string) => Promise<unknown>;
  /** /debug/rules?family=IPv4|IPv6: the ruleset the dataplane programmed (iptables-save text, or nftables mode's table dump as JSON). */
  readonly rules?: (family: 'IPv4' | 'IPv6') => Promise<string | undefined>;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

export function metricsHandler(deps: MetricsServerDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      respond(res, 405, TEXT, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    switch (requestPath(req)) {
      case '/metrics':
        respond(res, 200, deps.metrics.contentType, await deps.metrics.text());
        return;
      case '/configz':
        respond(res, 200, JSON_TYPE, JSON.stringify(deps.configz(), null, 2) + '\n');
        return;
      case '/proxyMode':
        respond(res, 200, TEXT, deps.mode);
        return;
      case '/debug/state':
        respond(res, 200, JSON_TYPE, JSON.stringify(await deps.debugState(), null, 2) + '\n');
        return;
      case '/debug/memory':
        respond(res, 200, JSON_TYPE, JSON.stringify(memoryReport(), null, 2) + '\n');
        return;
      case '/healthz':
        respond(res, 200, TEXT, 'ok');
        return;
      case '/debug/explain': {
        const service = new URL(req.url ?? '/', 'http://x').searchParams.get('service');
        if (!deps.explain || !service) {
          respond(res, deps.explain ? 400 : 404, TEXT, deps.explain ? 'missing ?service=namespace/name[:port]\n' : '404 page not found\n');
          return;
        }
        respond(res, 200, JSON_TYPE, JSON.stringify(await deps.explain(service), null, 2) + '\n');
        return;
      }
      case '/debug/rules': {
        const family = new URL(req.url ?? '/', 'http://x').searchParams.get('family') === 'IPv6' ? 'IPv6' : 'IPv4';
        const text = deps.rules ? await deps.rules(family) : undefined;
        if (text === undefined) respond(res, 404, TEXT, `no rules for ${family} in mode ${deps.mode}\n`);
        else respond(res, 200, TEXT, text);
        return;
      }
      default:
        respond(res, 404, TEXT, '404 page not found\n');
    }
  };
}

export interface MetricsServerOptions extends MetricsServerDeps {
  /** "host:port", e.g. "127.0.0.1:10249"; port 0 picks a free port. */
  readonly bindAddress: string;
  readonly logger: Logger;
}

export function startMetricsServer(opts: MetricsServerOptions): Promise<HttpListener> {
  return startHttpServer(opts.bindAddress, metricsHandler(opts), opts.logger.with({ server: 'metrics' }));
}
