// The proxy health endpoint (default 0.0.0.0:10256), answering like upstream's ProxyHealthServer:
//   /healthz  503 when unhealthy or the node is not eligible; {"lastUpdated","currentTime","nodeEligible"}
//   /livez    503 when unhealthy (eligibility ignored);      {"lastUpdated","currentTime"}
// Load balancers probe /healthz to drain a node; the kubelet's liveness probe uses /livez so a
// draining node's proxy is not restarted.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { ProxyMetrics } from '../../sync/metrics.js';
import { requestPath, respond, startHttpServer, type HttpListener } from '../http/listen.js';
import type { ProxyHealth, ProxyHealthStatus } from './proxy-health.js';

/** Go's zero time.Time, which upstream prints while the proxy has never synced. */
const ZERO_TIME = '0001-01-01T00:00:00.000Z';

function iso(d: Date | null): string {
  return d === null ? ZERO_TIME : d.toISOString();
}

export interface HealthzBody {
  readonly status: number;
  readonly body: Record<string, string | boolean>;
}

/** The pure part: status code and JSON body for /healthz (withEligibility) or /livez. */
export function healthzResponse(s: ProxyHealthStatus, withEligibility: boolean): HealthzBody {
  const ok = s.healthy && (!withEligibility || s.nodeEligible);
  // Upstream reports currentTime as lastUpdated when healthy, for old clients that compare them.
  const lastUpdated = s.healthy ? iso(s.currentTime) : iso(s.lastUpdated);
  const body: Record<string, string | boolean> = { lastUpdated, currentTime: iso(s.currentTime) };
  if (withEligibility) body['nodeEligible'] = s.nodeEligible;
  return { status: ok ? 200 : 503, body };
}

export function healthzHandler(health: ProxyHealth, metrics: ProxyMetrics) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = requestPath(req);
    if (path !== '/healthz' && path !== '/livez') {
      respond(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
      return;
    }
    const isHealthz = path === '/healthz';
    const { status, body } = healthzResponse(health.status(), isHealthz);
    (isHealthz ? metrics.healthzTotal : metrics.livezTotal).inc({ code: String(status) });
    respond(res, status, 'application/json', JSON.stringify(body));
  };
}

export interface HealthzServerOptions {
  /** "host:port", e.g. "0.0.0.0:10256"; port 0 picks a free port. */
  readonly bindAddress: string;
  readonly health: ProxyHealth;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
}

export function startHealthzServer(opts: HealthzServerOptions): Promise<HttpListener> {
  return startHttpServer(opts.bindAddress, healthzHandler(opts.health, opts.metrics), opts.logger.with({ server: 'healthz' }));
}
