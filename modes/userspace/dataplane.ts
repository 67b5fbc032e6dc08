// --mode=userspace: the daemon itself proxies every service port. Each TCP/UDP service port gets
// its own listener on an ephemeral port; nat "portal" rules steer ClusterIP, NodePort and
// external/LB IP traffic to it (portals.ts); the listener picks an endpoint (balancer.ts) and
// copies bytes (tcp-proxy.ts, udp-proxy.ts). A TCP endpoint whose dial timed out is ejected for a
// while (outliers.ts), so a black-holed endpoint costs one short dial timeout, not one per
// connection.
//
// A sync only diffs listeners: unchanged service ports keep their listener and connections, new
// ones get a listener, removed ones stop accepting while their connections finish on their own.
// Endpoint changes only update the balancer, so established connections survive endpoint churn.

import { networkInterfaces } from 'node:os';
import type { ProxyConfig } from '../../proxy/config/types.js';
import type { Logger } from '../../proxy/log.js';
import { categorizeEndpoints, endpointAddress, internalPolicyLocal } from '../../proxy/model/categorize.js';
import { ipsOfFamily } from '../../proxy/model/family.js';
import { ipFamily } from '../../proxy/model/ip.js';
import type { Endpoint, IPFamily, NodeInfo, ServicePort } from '../../proxy/model/types.js';
import { realClock, type Clock } from '../../sync/clock.js';
import type { ProxyMetrics } from '../../sync/metrics.js';
import type { CleanupReport, Dataplane, SyncRequest, SyncResult } from '../dataplane.js';
import { countCleanupPayload } from '../iptables/cleanup.js';
import type { IptablesRunner } from '../iptables/runner.js';
import { LoadBalancer, type Target } from './balancer.js';
import { createUserspaceMetrics, type UserspaceMetrics } from './metrics.js';
import { OutlierTracker, type OutlierOptions } from './outliers.js';
import { readPortalsLeftovers } from './leftovers.js';
import { loopback, missingJumpRules, portalsCleanupPayload, renderPortalRules, renderPortalsPayload, type Portal } from './portals.js';
import { TcpProxy, type TcpProxyOptions } from './tcp-proxy.js';
import { DEFAULT_UDP_IDLE_TIMEOUT_MS, UdpProxy } from './udp-proxy.js';

export interface UserspaceDataplaneOptions {
  readonly config: ProxyConfig;
  readonly runner: IptablesRunner;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** Listener bind address. Default: "::" (dual-stack socket) with IPv6, else "0.0.0.0". */
  readonly listenHost?: string;
  readonly udpIdleTimeoutMs?: number;
  readonly maxUdpSessions?: number;
  /** One TCP dial attempt per entry, with that timeout. Default: upstream's 250 ms, 500 ms, 1 s, 2 s. */
  readonly dialTimeoutsMs?: readonly number[];
  /** How long an endpoint whose dial timed out is skipped (first time, and at most). */
  readonly outliers?: OutlierOptions;
  readonly clock?: Clock;
  /**
   * Node address UDP listeners bind to for pod/external traffic, per family (default
   * firstGlobalAddress; undefined: REDIRECT to the wildcard listener).
   */
  readonly udpNodeAddress?: (family: IPFamily) => string | undefined;
  /** Families to program portals for. Default: IPv4. */
  readonly families?: IPFamily[];
  /** Opens a TCP listener (default TcpProxy.listen); the in-process benchmark passes one without a socket. */
  readonly listenTcp?: (o: TcpProxyOptions) => Promise<TcpListener>;
}

/** What the dataplane uses of a TCP listener. */
export type TcpListener = Pick<TcpProxy, 'host' | 'port' | 'activeConnections' | 'stopAccepting' | 'close'>;

type Listener =
  | { readonly protocol: 'TCP'; readonly proxy: TcpListener; sp: ServicePort }
  | {
      readonly protocol: 'UDP';
      readonly proxy: UdpProxy;
      /** Per family, a listener on the loopback address for host-originated traffic (see Portal.hostListenerPort). */
      readonly hostProxies: ReadonlyMap<IPFamily, UdpProxy>;
      /** Per family, a listener bound to one node address for pod/external traffic (see Portal.containerListener). */
      readonly containerProxies: ReadonlyMap<IPFamily, UdpProxy>;
      sp: ServicePort;
    };

const udpSessions = (l: Listener & { protocol: 'UDP' }): number => {
  let n = l.proxy.activeSessions;
  for (const h of extraUdp(l)) n += h.activeSessions;
  return n;
};
const extraUdp = (l: Listener & { protocol: 'UDP' }): UdpProxy[] => [...l.hostProxies.values(), ...l.containerProxies.values()];

export function createUserspaceDataplane(opts: UserspaceDataplaneOptions): Dataplane {
  const log = opts.logger.with({ mode: 'userspace' });
  const clock = opts.clock ?? realClock;
  const families = opts.families ?? ['IPv4'];
  const listenHost = opts.listenHost ?? (families.includes('IPv6') ? '::' : '0.0.0.0');
  const served = familiesServedBy(listenHost, families);
  const portalListenAddress = listenHost === '::' || listenHost === '0.0.0.0' ? undefined : listenHost;
  const udpNodeAddress = opts.udpNodeAddress ?? ((f: IPFamily) => firstGlobalAddress(f));
  const now = (): number => clock.now();
  const outliers = new OutlierTracker(now, opts.outliers);
  const balancer = new LoadBalancer(now, outliers);
  const metrics: UserspaceMetrics = createUserspaceMetrics(opts.metrics.registry);
  const listeners = new Map<string, Listener>();
  /** TCP listeners of removed service ports whose connections are still finishing. */
  const draining = new Set<TcpListener>();
  const listenTcp = opts.listenTcp ?? ((o: TcpProxyOptions) => TcpProxy.listen(o));
  const sctpWarned = new Set<string>();
  /** Families whose jump rules were verified present since the last restore failure. */
  const jumpsVerified = new Set<IPFamily>();
  let closed = false;

  metrics.setLiveSource(function* () {
    for (const [key, l] of listeners) {
      yield {
        key,
        tcpConnections: l.protocol === 'TCP' ? l.proxy.activeConnections : 0,
        udpSessions: l.protocol === 'UDP' ? udpSessions(l) : 0,
        ejectedEndpoints: l.protocol === 'TCP' ? outliers.ejected(key).length : 0,
      };
    }
  });
  for (const f of families) {
    if (!served.includes(f)) log.warn('listen address cannot serve this IP family; no portals for it', { listenHost, family: f });
  }

  const openListener = async (key: string, sp: ServicePort & { protocol: 'TCP' | 'UDP' }): Promise<Listener> => {
    const toEndpoint = metrics.bytes.labels(key, 'to_endpoint');
    const toClient = metrics.bytes.labels(key, 'to_client');
    const dialErrors = metrics.dialErrors.labels(key);
    const noEndpoint = metrics.noEndpoint.labels(key, sp.protocol);
    const ejections = metrics.ejections.labels(key);
    const onDialError = (target: Target, err: Error, timedOut = false): void => {
      dialErrors.inc();
      log.v(2, 'endpoint dial failed', { service: key, endpoint: target.id, error: err.message });
      if (!timedOut) return;
      const ejectionMs = outliers.timedOut(key, target.id);
      if (ejectionMs === 0) return;
      ejections.inc();
      log.info('endpoint ejected after dial timeout', { service: key, endpoint: target.id, ejectionMs });
    };
    const onNoEndpoint = (clientIP: string): void => {
      noEndpoint.inc();
      log.v(4, 'no reachable endpoint', { service: key, client: clientIP });
    };
    const account = (out: number, back: number): void => {
      if (out > 0) toEndpoint.inc(out);
      if (back > 0) toClient.inc(back);
    };
    if (sp.protocol === 'TCP') {
      const proxy = await listenTcp({
        host: listenHost,
        dialTimeoutsMs: opts.dialTimeoutsMs,
        hooks: {
          pick: (ip, exclude, avoid) => balancer.next(key, ip, exclude, avoid),
          onDialError,
          onDialSuccess: (target) => outliers.connected(key, target.id),
          onNoEndpoint,
          onConnectionOpen: () => undefined,
          onConnectionClose: account,
        },
      });
      return { protocol: 'TCP', proxy, sp };
    }
    const udpOn = (host: string): Promise<UdpProxy> =>
      UdpProxy.listen({
        host,
        idleTimeoutMs: opts.udpIdleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS,
        maxSessions: opts.maxUdpSessions,
        clock,
        hooks: {
          pick: (ip) => balancer.next(key, ip),
          onDialError,
          onNoEndpoint,
          onSessionOpen: () => undefined,
          onSessionClose: account,
        },
      });
    const proxy = await udpOn(listenHost);
    const hostProxies = new Map<IPFamily, UdpProxy>();
    const containerProxies = new Map<IPFamily, UdpProxy>();
    if (portalListenAddress === undefined) {
      try {
        for (const f of served) {
          hostProxies.set(f, await udpOn(loopback(f)));
          const addr = udpNodeAddress(f);
          if (addr !== undefined) containerProxies.set(f, await udpOn(addr));
        }
      } catch (err) {
        await Promise.all([proxy.close(), ...[...hostProxies.values(), ...containerProxies.values()].map((h) => h.close())]);
        throw err;
      }
    }
    return { protocol: 'UDP', proxy, hostProxies, containerProxies, sp };
  };

  const closeListener = async (key: string, l: Listener): Promise<void> => {
    listeners.delete(key);
    if (l.protocol === 'TCP') {
      await l.proxy.stopAccepting();
      if (l.proxy.activeConnections > 0) draining.add(l.proxy);
    } else {
      await Promise.all([l.proxy.close(), ...extraUdp(l).map((h) => h.close())]);
    }
    log.v(2, 'closed service port listener', { service: key, protocol: l.protocol, port: l.proxy.port });
  };

  /** Per family, per service port: the portal rules last written (what a partial sync deletes). */
  const written = new Map<IPFamily, Map<string, string[]>>(served.map((f) => [f, new Map()]));
  const target = (family: IPFamily) => ({ family, listenAddress: portalListenAddress });

  /** Full: every chain of ours declared (flushed) and refilled. */
  const applyPortals = async (): Promise<number> => {
    let rules = 0;
    for (const family of served) {
      const record = new Map<string, string[]>();
      const portals = [...listeners].map(([key, l]) => portalOf(key, l, family));
      try {
        const missing = jumpsVerified.has(family) ? [] : missingJumpRules(await opts.runner.save(family, 'nat'));
        const payload = renderPortalsPayload(portals, target(family), missing);
        await opts.runner.restore(family, payload);
        jumpsVerified.add(family);
        rules += payload.split('\n').filter((l) => l.startsWith('-A ')).length;
        for (const p of portals) record.set(p.key, renderPortalRules([p], target(family)));
        written.set(family, record);
      } catch (err) {
        // Someone may have flushed the built-in chains: re-check the jumps on the next attempt.
        jumpsVerified.delete(family);
        throw err;
      }
    }
    return rules;
  };

  /**
   * Partial: for each changed service port whose rules differ, its old rules are deleted by spec
   * and its new ones appended (a rule's position does not matter: each matches its own
   * address:port). A rule that is not there makes the restore fail, and the retry is full.
   */
  const applyPortalChanges = async (keys: ReadonlySet<string>): Promise<number> => {
    let rules = 0;
    for (const family of served) {
      const record = written.get(family)!;
      const lines: string[] = [];
      const next: [string, string[] | undefined][] = [];
      for (const key of keys) {
        const l = listeners.get(key);
        const now = l ? renderPortalRules([portalOf(key, l, family)], target(family)) : undefined;
        const before = record.get(key);
        if (sameLines(before, now)) continue;
        for (const r of before ?? []) lines.push(`-D${r.slice(2)}`);
        lines.push(...(now ?? []));
        next.push([key, now]);
        rules += now?.length ?? 0;
      }
      if (lines.length === 0) continue;
      await opts.runner.restore(family, ['*nat', ...lines, 'COMMIT', ''].join('\n'));
      for (const [key, now] of next) now ? record.set(key, now) : record.delete(key);
    }
    return rules;
  };

  /** Bring one service port's listener and balancer to `sp` (undefined: gone). */
  const syncKey = async (key: string, sp: ServicePort | undefined, endpoints: ReadonlyMap<string, readonly Endpoint[]>, node: NodeInfo, counts: { opened: number; removed: number }, failures: string[]): Promise<void> => {
    const l = listeners.get(key);
    if (l && (!sp || sp.protocol !== l.protocol)) {
      await closeListener(key, l);
      balancer.remove(key);
      outliers.remove(key);
      counts.removed++;
    }
    if (!sp) {
      sctpWarned.delete(key);
      return;
    }
    if (sp.protocol === 'SCTP') {
      if (!sctpWarned.has(key)) {
        sctpWarned.add(key);
        log.warn('userspace mode does not support SCTP; service port not proxied', { service: key, protocol: sp.protocol });
      }
      return;
    }
    sctpWarned.delete(key);
    const targets = targetsFor(sp, endpoints.get(key) ?? [], node, families);
    balancer.update(key, targets, sp.sessionAffinity);
    outliers.retain(key, targets);
    const existing = listeners.get(key);
    if (existing) {
      existing.sp = sp;
      if (existing.protocol === 'UDP') {
        const ids = new Set(targets.map((t) => t.id));
        existing.proxy.retainTargets(ids);
        for (const h of extraUdp(existing)) h.retainTargets(ids);
      }
      return;
    }
    try {
      const opened = await openListener(key, { ...sp, protocol: sp.protocol });
      listeners.set(key, opened);
      counts.opened++;
      log.v(2, 'opened service port listener', { service: key, protocol: sp.protocol, host: listenHost, port: opened.proxy.port });
    } catch (err) {
      balancer.remove(key);
      outliers.remove(key);
      failures.push(key);
      log.error('cannot open service port listener', { service: key, protocol: sp.protocol, error: err });
    }
  };

  /** The last sync succeeded: listeners, balancer and the portal record match; partial syncs may follow. */
  let consistent = false;

  return {
    mode: 'userspace',

    async sync(req: SyncRequest): Promise<SyncResult> {
      if (closed) throw new Error('userspace dataplane is closed');
      const { services, endpoints, node } = req.state;
      const full = req.full || req.changes.nodeChanged || !consistent;
      consistent = false;
      const counts = { opened: 0, removed: 0 };
      const failures: string[] = [];

      if (full) {
        for (const key of [...listeners.keys()]) if (!services.has(key)) await syncKey(key, undefined, endpoints, node, counts, failures);
        for (const [key, sp] of services) await syncKey(key, sp, endpoints, node, counts, failures);
        for (const key of sctpWarned) if (services.get(key)?.protocol !== 'SCTP') sctpWarned.delete(key);
      } else {
        // Only the changed service ports: the rest keep their listener, balancer and rules.
        for (const key of req.changes.changed) await syncKey(key, services.get(key), endpoints, node, counts, failures);
      }
      for (const p of draining) if (p.activeConnections === 0) draining.delete(p);

      const portalRules = full ? await applyPortals() : await applyPortalChanges(req.changes.changed);
      if (failures.length > 0) throw new Error(`userspace: could not open listeners for ${failures.join(', ')}`);
      consistent = true;
      return { full, stats: { servicePorts: listeners.size, opened: counts.opened, removed: counts.removed, portalRules } };
    },

    async cleanup(): Promise<CleanupReport> {
      // No other mode programs a portal chain: whatever the active mode, all of them go.
      const errors: string[] = [];
      const removed = { chains: 0, rules: 0 };
      for (const family of families) {
        try {
          const payload = portalsCleanupPayload(await readPortalsLeftovers(opts.runner, family));
          if (payload) await opts.runner.restore(family, payload);
          const n = countCleanupPayload(payload ?? '');
          removed.chains += n.chains;
          removed.rules += n.rules;
        } catch (err) {
          errors.push(`${family}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      jumpsVerified.clear();
      consistent = false;
      if (errors.length > 0) throw new Error(`userspace cleanup failed: ${errors.join('; ')}`);
      return { removed };
    },

    async close(): Promise<void> {
      closed = true;
      const all = [...listeners.values()].flatMap((l) => [
        l.proxy.close(),
        ...(l.protocol === 'UDP' ? extraUdp(l).map((h) => h.close()) : []),
      ]);
      for (const p of draining) all.push(p.close());
      listeners.clear();
      draining.clear();
      await Promise.all(all);
    },

    async describe(key: string): Promise<unknown> {
      const l = listeners.get(key);
      if (!l) return { mode: 'userspace', service: key, listener: null, endpoints: [] };
      return {
        mode: 'userspace',
        service: key,
        protocol: l.protocol,
        listener: { host: l.proxy.host, port: l.proxy.port },
        endpoints: balancer.targets(key).map((t) => t.id),
        sessionAffinity: l.sp.sessionAffinity,
        ...(l.protocol === 'TCP'
          ? { activeConnections: l.proxy.activeConnections, ejectedEndpoints: outliers.ejected(key) }
          : { activeSessions: udpSessions(l) }),
      };
    },
  };
}

/**
 * The endpoints a listener balances over. A listener cannot tell in-cluster from external
 * clients, so the internal traffic policy decides; endpoints of any served family are fine since
 * the proxy terminates the client connection anyway.
 */
export function targetsFor(sp: ServicePort, eps: readonly Endpoint[], node: NodeInfo, families: readonly IPFamily[]): Target[] {
  const cat = categorizeEndpoints(sp, eps, node);
  const chosen = internalPolicyLocal(sp) ? cat.localEndpoints : cat.clusterEndpoints;
  return chosen
    .filter((ep) => families.includes(ep.family))
    .map((ep) => ({ id: endpointAddress(ep), host: ep.ip, port: ep.port }));
}

function familiesServedBy(listenHost: string, families: readonly IPFamily[]): IPFamily[] {
  if (listenHost === '::') return [...families];
  if (listenHost === '0.0.0.0') return families.filter((f) => f === 'IPv4');
  const f = ipFamily(listenHost);
  return families.filter((x) => x === f);
}

function udpPortalPorts(l: Listener & { protocol: 'UDP' }, family: IPFamily): Pick<Portal, 'hostListenerPort' | 'containerListener'> {
  const host = l.hostProxies.get(family);
  const container = l.containerProxies.get(family);
  return {
    ...(host ? { hostListenerPort: host.port } : {}),
    ...(container ? { containerListener: { address: container.host, port: container.port } } : {}),
  };
}

/**
 * The node address a family's UDP listeners for pod/external traffic bind to: the first global
 * (non-loopback, non-link-local) address of that family, or undefined (REDIRECT is used then).
 */
export function firstGlobalAddress(family: IPFamily, ifaces = networkInterfaces()): string | undefined {
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) {
      if (a.internal || a.family !== family) continue;
      if (family === 'IPv6' && /^fe[89ab]/i.test(a.address)) continue;
      return a.address;
    }
  }
  return undefined;
}

function portalOf(key: string, l: Listener, family: IPFamily): Portal {
  const sp = l.sp;
  return {
    key,
    protocol: l.protocol,
    listenerPort: l.proxy.port,
    ...(l.protocol === 'UDP' ? udpPortalPorts(l, family) : {}),
    port: sp.port,
    clusterIPs: ipsOfFamily(sp.clusterIPs, family),
    externalIPs: ipsOfFamily(sp.externalIPs, family),
    loadBalancerIPs: ipsOfFamily(sp.loadBalancerIPs, family),
    nodePort: sp.nodePort,
  };
}

function sameLines(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
