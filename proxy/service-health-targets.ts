// Which healthCheckNodePort servers this node should run and how many local endpoints each
// reports (upstream serves one per Service with externalTrafficPolicy Local and a health check port).
//
// serviceHealthTargets() is the pure whole-state answer. HealthTargetTracker keeps the same answer
// up to date from a sync's change set: a partial sync re-evaluates only the changed service ports
// (and re-aggregates only their Services), so the work after one endpoint change does not grow
// with the cluster; only a full sync walks every service port.

import { categorizeEndpoints, externalPolicyLocal } from './model/categorize.js';
import { namespacedName } from './model/service.js';
import type { ChangeSet, Endpoint, NodeInfo, ProxyState, ServicePort } from './model/types.js';

export interface HealthTarget {
  readonly port: number;
  readonly localEndpoints: number;
}

/** One service port's share of its Service's health target. */
export interface PortHealthTarget {
  /** The Service, "namespace/name". */
  readonly service: string;
  readonly port: number;
  /** Distinct local endpoint IPs of this port. */
  readonly localEndpoints: number;
}

/** The per-service-port step, or undefined when the port needs no health check server. */
export function portHealthTarget(sp: ServicePort, eps: readonly Endpoint[], node: NodeInfo): PortHealthTarget | undefined {
  if (!sp.healthCheckNodePort || !externalPolicyLocal(sp)) return undefined;
  const { localEndpoints } = categorizeEndpoints(sp, eps, node);
  // Several ports of one Service share its health check port; count distinct local pods.
  const ips = new Set(localEndpoints.map((e) => e.ip));
  return { service: namespacedName(sp.namespace, sp.name), port: sp.healthCheckNodePort, localEndpoints: ips.size };
}

function combine(prev: HealthTarget | undefined, t: PortHealthTarget): HealthTarget {
  return { port: t.port, localEndpoints: Math.max(prev?.localEndpoints ?? 0, t.localEndpoints) };
}

export function serviceHealthTargets(state: ProxyState): Map<string, HealthTarget> {
  const out = new Map<string, HealthTarget>();
  for (const [key, sp] of state.services) {
    const t = portHealthTarget(sp, state.endpoints.get(key) ?? [], state.node);
    if (t !== undefined) out.set(t.service, combine(out.get(t.service), t));
  }
  return out;
}

/** What a sync changed in the health targets. */
export type HealthTargetUpdate =
  | { readonly full: true; readonly targets: ReadonlyMap<string, HealthTarget> }
  /** Only the Services whose target changed; undefined means "no server any more". */
  | { readonly full: false; readonly changed: ReadonlyMap<string, HealthTarget | undefined> };

export class HealthTargetTracker {
  /** Service port key → its share, for ports that need a server. */
  private readonly byPort = new Map<string, PortHealthTarget>();
  /** Service "ns/name" → its port keys in byPort. */
  private readonly portsOf = new Map<string, Set<string>>();
  private readonly targets = new Map<string, HealthTarget>();

  constructor(private readonly targetOf: typeof portHealthTarget = portHealthTarget) {}

  /** Update from a successful sync; `full` (or a node change) re-evaluates every service port. */
  update(state: ProxyState, changes: ChangeSet, full: boolean): HealthTargetUpdate {
    if (full || changes.nodeChanged) {
      this.byPort.clear();
      this.portsOf.clear();
      this.targets.clear();
      for (const [key, sp] of state.services) this.setPort(key, this.targetOf(sp, state.endpoints.get(key) ?? [], state.node));
      for (const name of this.portsOf.keys()) this.aggregate(name);
      return { full: true, targets: new Map(this.targets) };
    }
    const touched = new Set<string>();
    for (const key of changes.changed) {
      const old = this.byPort.get(key);
      if (old !== undefined) touched.add(old.service);
      const sp = state.services.get(key);
      const next = sp === undefined ? undefined : this.targetOf(sp, state.endpoints.get(key) ?? [], state.node);
      if (next !== undefined) touched.add(next.service);
      this.setPort(key, next);
    }
    const changed = new Map<string, HealthTarget | undefined>();
    for (const name of touched) {
      const before = this.targets.get(name);
      const after = this.aggregate(name);
      if (before?.port !== after?.port || before?.localEndpoints !== after?.localEndpoints) changed.set(name, after);
    }
    return { full: false, changed };
  }

  /** The current targets (a copy). */
  current(): Map<string, HealthTarget> {
    return new Map(this.targets);
  }

  private setPort(key: string, t: PortHealthTarget | undefined): void {
    const old = this.byPort.get(key);
    if (old !== undefined) {
      const keys = this.portsOf.get(old.service);
      keys?.delete(key);
      if (keys?.size === 0) this.portsOf.delete(old.service);
      this.byPort.delete(key);
    }
    if (t === undefined) return;
    this.byPort.set(key, t);
    let keys = this.portsOf.get(t.service);
    if (keys === undefined) this.portsOf.set(t.service, (keys = new Set()));
    keys.add(key);
  }

  /** Recompute one Service's target from its ports' shares (a Service has few ports). */
  private aggregate(name: string): HealthTarget | undefined {
    let out: HealthTarget | undefined;
    for (const key of this.portsOf.get(name) ?? []) out = combine(out, this.byPort.get(key)!);
    if (out === undefined) this.targets.delete(name);
    else this.targets.set(name, out);
    return out;
  }
}
