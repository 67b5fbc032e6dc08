// Endpoint selection for the userspace proxy: round robin per service port, with optional
// ClientIP session affinity, skipping endpoints the outlier tracker ejected. No I/O and no timers:
// time comes from an injected `now()`, so the affinity timeout is tested by moving a fake clock
// rather than by sleeping.

import type { SessionAffinity } from '../../proxy/model/types.js';
import type { OutlierTracker } from './outliers.js';

/** A dialable endpoint. `id` ("ip:port", IPv6 bracketed) is its identity across updates. */
export interface Target {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

interface AffinityEntry {
  readonly targetId: string;
  lastUsed: number;
}

interface ServiceBalance {
  targets: readonly Target[];
  affinity: SessionAffinity;
  /** Index of the next round-robin pick. */
  cursor: number;
  /** Client IP → sticky endpoint; only used with ClientIP affinity. */
  readonly clients: Map<string, AffinityEntry>;
}

/**
 * Pick tiers, tried in order: endpoints that are neither ejected nor timed out for this
 * connection; then ejected ones; then any endpoint not excluded.
 */
const HEALTHY = 0;
const EJECTED = 1;
const ANY = 2;
type Tier = number;

/** Affinity tables are swept of expired entries whenever they grow by this many inserts. */
const SWEEP_EVERY = 1024;

export class LoadBalancer {
  private readonly services = new Map<string, ServiceBalance>();
  private insertsSinceSweep = 0;

  constructor(
    private readonly now: () => number,
    private readonly outliers?: OutlierTracker,
  ) {}

  /**
   * Replace the endpoints and affinity of a service port. An unchanged update keeps the
   * round-robin position; affinity entries pointing at endpoints that disappeared are dropped so
   * those clients are re-balanced on their next connection.
   */
  update(key: string, targets: readonly Target[], affinity: SessionAffinity): void {
    const current = this.services.get(key);
    if (!current) {
      this.services.set(key, { targets: [...targets], affinity, cursor: 0, clients: new Map() });
      return;
    }
    const affinityChanged = !sameAffinity(current.affinity, affinity);
    if (!affinityChanged && sameTargets(current.targets, targets)) return;
    current.targets = [...targets];
    current.affinity = affinity;
    current.cursor = targets.length === 0 ? 0 : current.cursor % targets.length;
    if (affinityChanged || affinity.type === 'None') {
      current.clients.clear();
      return;
    }
    const live = new Set(targets.map((t) => t.id));
    for (const [ip, entry] of current.clients) if (!live.has(entry.targetId)) current.clients.delete(ip);
  }

  remove(key: string): void {
    this.services.delete(key);
  }

  has(key: string): boolean {
    return this.services.has(key);
  }

  targets(key: string): readonly Target[] {
    return this.services.get(key)?.targets ?? [];
  }

  /**
   * The endpoint for a new connection from `clientIP`. `exclude`: endpoints that refused this
   * connection, never picked again. `avoid`: endpoints whose dial timed out for this connection,
   * picked (with a longer timeout) only when nothing else is left. Ejected endpoints are skipped
   * too, unless every endpoint is ejected: then they are tried rather than failing the client.
   *
   * A ClientIP affinity pinned to an endpoint that cannot be used moves to the new pick, like
   * upstream's sessionAffinityReset on retry; while nothing better exists it stays where it is.
   * Undefined when no endpoint is left.
   */
  next(key: string, clientIP: string, exclude?: ReadonlySet<string>, avoid?: ReadonlySet<string>): Target | undefined {
    const svc = this.services.get(key);
    if (!svc || svc.targets.length === 0) return undefined;
    const now = this.now();
    const sticky = svc.affinity.type === 'ClientIP';
    let pinned: Target | undefined;
    if (sticky) {
      const entry = svc.clients.get(clientIP);
      if (entry && now - entry.lastUsed < timeoutMs(svc.affinity)) {
        const target = svc.targets.find((t) => t.id === entry.targetId);
        if (target && !exclude?.has(target.id)) {
          if (this.usable(key, target.id, exclude, avoid, HEALTHY)) {
            entry.lastUsed = now;
            return target;
          }
          pinned = target;
        }
      }
    }
    let target: Target | undefined;
    for (let tier = HEALTHY; tier <= ANY && !target; tier++) {
      // When only fallbacks are left, the client's own endpoint is the fallback of choice.
      if (tier > HEALTHY && pinned && this.usable(key, pinned.id, exclude, avoid, tier)) target = pinned;
      else target = this.roundRobin(svc, key, exclude, avoid, tier);
    }
    if (target && sticky) this.remember(svc, clientIP, target.id, now);
    return target;
  }

  private usable(key: string, id: string, exclude: ReadonlySet<string> | undefined, avoid: ReadonlySet<string> | undefined, tier: Tier): boolean {
    if (exclude?.has(id)) return false;
    if (tier === ANY) return true;
    if (avoid?.has(id)) return false;
    return tier === EJECTED || this.outliers?.isEjected(key, id) !== true;
  }

  private roundRobin(
    svc: ServiceBalance,
    key: string,
    exclude: ReadonlySet<string> | undefined,
    avoid: ReadonlySet<string> | undefined,
    tier: Tier,
  ): Target | undefined {
    const n = svc.targets.length;
    for (let i = 0; i < n; i++) {
      const idx = (svc.cursor + i) % n;
      const target = svc.targets[idx];
      if (target && this.usable(key, target.id, exclude, avoid, tier)) {
        svc.cursor = (idx + 1) % n;
        return target;
      }
    }
    return undefined;
  }

  private remember(svc: ServiceBalance, clientIP: string, targetId: string, now: number): void {
    svc.clients.set(clientIP, { targetId, lastUsed: now });
    // Bound memory under many short-lived clients without a timer: sweep now and then.
    if (++this.insertsSinceSweep < SWEEP_EVERY) return;
    this.insertsSinceSweep = 0;
    for (const s of this.services.values()) {
      if (s.affinity.type !== 'ClientIP') continue;
      const limit = timeoutMs(s.affinity);
      for (const [ip, entry] of s.clients) if (now - entry.lastUsed >= limit) s.clients.delete(ip);
    }
  }
}

function timeoutMs(affinity: SessionAffinity): number {
  return affinity.type === 'ClientIP' ? affinity.timeoutSeconds * 1000 : 0;
}

function sameAffinity(a: SessionAffinity, b: SessionAffinity): boolean {
  if (a.type !== b.type) return false;
  return a.type === 'None' || (b.type === 'ClientIP' && a.timeoutSeconds === b.timeoutSeconds);
}

function sameTargets(a: readonly Target[], b: readonly Target[]): boolean {
  return a.length === b.length && a.every((t, i) => t.id === b[i]?.id);
}

/** Normalize a socket's remote address: IPv4-mapped IPv6 ("::ffff:1.2.3.4") becomes "1.2.3.4". */
export function clientAddress(remote: string | undefined): string {
  if (!remote) return '';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}
