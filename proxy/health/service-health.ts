// healthCheckNodePort listeners for externalTrafficPolicy=Local LoadBalancer services, like
// upstream's service_health.go: a cloud load balancer probes each node and only sends traffic to
// nodes that answer 200, which this proxy does iff it has local endpoints for the service and is
// itself healthy. The endpoint count goes out in X-Load-Balancing-Endpoint-Weight for balancers that
// weight nodes.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { listenHttp, respond, type HttpListener } from '../http/listen.js';

export interface ServiceHealthEntry {
  readonly port: number;
  readonly localEndpoints: number;
}

/** Anything that can say whether the proxy itself is healthy (ProxyHealth). */
export interface HealthSource {
  isHealthy(): boolean;
}

export interface ServiceHealthOptions {
  readonly health: HealthSource;
  readonly logger: Logger;
  /** Address to bind each port on; default all addresses. */
  readonly bindHost?: string | undefined;
  /** Several addresses (one listener each per port), e.g. from nodePortAddresses; wins over bindHost. */
  readonly bindHosts?: readonly string[];
}

/** Mutable per-service record: the request handler reads localEndpoints from it at request time. */
interface Slot {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  localEndpoints: number;
  listeners: HttpListener[];
}

export interface ServiceHealthBody {
  readonly service: { readonly namespace: string; readonly name: string };
  readonly localEndpoints: number;
  readonly serviceProxyHealthy: boolean;
}

/** The pure part of a probe answer. */
export function serviceHealthResponse(
  namespace: string,
  name: string,
  localEndpoints: number,
  proxyHealthy: boolean,
): { status: number; body: ServiceHealthBody } {
  return {
    status: localEndpoints > 0 && proxyHealthy ? 200 : 503,
    body: { service: { namespace, name }, localEndpoints, serviceProxyHealthy: proxyHealthy },
  };
}

function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export class ServiceHealthServers {
  private readonly slots = new Map<string, Slot>();
  /** Services whose listeners failed to open: retried on every sync, partial or full. */
  private readonly unbound = new Set<string>();
  /** Syncs are serialized so two overlapping calls never open the same port twice. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: ServiceHealthOptions) {}

  /**
   * Make the listeners match `services` (key "namespace/name"). New ports are opened, vanished or
   * re-numbered ones closed, and changed endpoint counts updated in place. Listen failures are
   * logged and retried on the next sync.
   */
  sync(services: ReadonlyMap<string, ServiceHealthEntry>): Promise<void> {
    return this.enqueue(() => {
      const changes = new Map<string, ServiceHealthEntry | undefined>(services);
      for (const key of this.slots.keys()) if (!services.has(key)) changes.set(key, undefined);
      return this.apply(changes);
    });
  }

  /**
   * Apply only these Services' changes (undefined: the Service no longer wants a server); every
   * other listener is left alone, so a partial sync costs O(changed), not O(services).
   */
  update(changes: ReadonlyMap<string, ServiceHealthEntry | undefined>): Promise<void> {
    return this.enqueue(() => this.apply(changes));
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The ports bound per service, for tests and /debug/state. */
  boundPorts(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [key, slot] of this.slots) out.set(key, slot.listeners.map((l) => l.port));
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    await Promise.all([...this.slots.values()].map((s) => this.closeSlot(s)));
    this.slots.clear();
    this.unbound.clear();
  }

  private async apply(changes: ReadonlyMap<string, ServiceHealthEntry | undefined>): Promise<void> {
    if (this.closed) return;
    const closing: Promise<void>[] = [];
    for (const [key, want] of changes) {
      const slot = this.slots.get(key);
      if (slot === undefined || (want && want.port === slot.port)) continue;
      this.slots.delete(key);
      this.unbound.delete(key);
      this.opts.logger.v(2, 'Closing healthcheck service', { service: key, port: slot.port });
      closing.push(this.closeSlot(slot));
    }
    // Close first so a service moving to another service's old port can take it over.
    await Promise.all(closing);

    const opening: Promise<void>[] = [];
    for (const [key, want] of changes) {
      if (want === undefined) continue;
      let slot = this.slots.get(key);
      if (!slot) {
        slot = { ...splitKey(key), port: want.port, localEndpoints: want.localEndpoints, listeners: [] };
        this.slots.set(key, slot);
      }
      slot.localEndpoints = want.localEndpoints;
      if (slot.listeners.length === 0) opening.push(this.openSlot(key, slot));
    }
    for (const key of this.unbound) {
      const slot = this.slots.get(key);
      if (!changes.has(key) && slot !== undefined && slot.listeners.length === 0) opening.push(this.openSlot(key, slot));
    }
    await Promise.all(opening);
  }

  private async openSlot(key: string, slot: Slot): Promise<void> {
    const hosts = this.opts.bindHosts && this.opts.bindHosts.length > 0 ? this.opts.bindHosts : [this.opts.bindHost];
    const results = await Promise.allSettled(
      hosts.map((host) => listenHttp({ host, port: slot.port }, this.handler(slot), this.opts.logger)),
    );
    const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) {
      // All-or-nothing per service, so the next sync retries cleanly from no listeners.
      await Promise.all(opened.map((l) => l.close()));
      this.unbound.add(key);
      this.opts.logger.error('Failed to start healthcheck server, will retry on next sync', {
        service: key,
        port: slot.port,
        err: failed[0],
      });
      return;
    }
    slot.listeners = opened;
    this.unbound.delete(key);
    this.opts.logger.v(2, 'Opened healthcheck service', { service: key, port: slot.port });
  }

  private async closeSlot(slot: Slot): Promise<void> {
    const listeners = slot.listeners;
    slot.listeners = [];
    await Promise.all(listeners.map((l) => l.close()));
  }

  private handler(slot: Slot) {
    return (_req: IncomingMessage, res: ServerResponse): void => {
      const { status, body } = serviceHealthResponse(
        slot.namespace,
        slot.name,
        slot.localEndpoints,
        this.opts.health.isHealthy(),
      );
      respond(res, status, 'application/json', JSON.stringify(body), {
        'X-Load-Balancing-Endpoint-Weight': String(slot.localEndpoints),
      });
    };
  }
}
