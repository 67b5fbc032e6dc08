// Passive outlier ejection for the userspace TCP proxy. An endpoint whose dial timed out (its node
// is gone, a firewall eats its SYNs) would otherwise cost a dial timeout to every connection the
// round robin sends it; here it is ejected: skipped for new connections for a while, then given
// one more chance. Only timeouts eject: a refused dial fails at once and costs a client nothing.
//
// Like Envoy's outlier detection, the ejection grows while the endpoint stays dead (base, 2x base,
// 4x base, ... up to a cap) so a long-dead endpoint is probed rarely, and a successful connect
// forgets its history. No timers and no I/O: time comes from an injected `now()`.

export interface OutlierOptions {
  /** First ejection after a timeout. */
  readonly baseEjectionMs?: number;
  /** Cap of the doubling ejection of an endpoint that keeps timing out. */
  readonly maxEjectionMs?: number;
}

export const DEFAULT_BASE_EJECTION_MS = 5_000;
export const DEFAULT_MAX_EJECTION_MS = 60_000;

interface Record {
  /** Ejections since the endpoint last connected; sets the next ejection's length. */
  ejections: number;
  /** now() at which the current ejection ends. */
  until: number;
}

/** An ejected endpoint as shown in debug state. */
export interface Ejection {
  readonly endpoint: string;
  readonly remainingMs: number;
  readonly ejections: number;
}

export class OutlierTracker {
  /** Service port key → endpoint id → record. Only endpoints that timed out have a record. */
  private readonly byKey = new Map<string, Map<string, Record>>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly now: () => number,
    opts: OutlierOptions = {},
  ) {
    this.baseMs = opts.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS;
    this.maxMs = Math.max(this.baseMs, opts.maxEjectionMs ?? DEFAULT_MAX_EJECTION_MS);
  }

  /**
   * A dial to `id` timed out. Returns the length of the new ejection, or 0 when the endpoint was
   * already ejected: dials started before the first timeout was seen end together, and counting
   * each of them would jump straight to the longest ejection.
   */
  timedOut(key: string, id: string): number {
    const now = this.now();
    let records = this.byKey.get(key);
    if (!records) this.byKey.set(key, (records = new Map()));
    const r = records.get(id);
    if (r && now < r.until) return 0;
    const ejections = (r?.ejections ?? 0) + 1;
    const ms = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(ejections - 1, 30));
    records.set(id, { ejections, until: now + ms });
    return ms;
  }

  /** A dial to `id` connected: it is healthy, whatever happened before. */
  connected(key: string, id: string): void {
    const records = this.byKey.get(key);
    if (!records?.delete(id)) return;
    if (records.size === 0) this.byKey.delete(key);
  }

  isEjected(key: string, id: string): boolean {
    const r = this.byKey.get(key)?.get(id);
    return r !== undefined && this.now() < r.until;
  }

  /** Endpoints of `key` ejected now, for debug state and metrics. */
  ejected(key: string): Ejection[] {
    const records = this.byKey.get(key);
    if (!records) return [];
    const now = this.now();
    const out: Ejection[] = [];
    for (const [endpoint, r] of records) {
      if (now < r.until) out.push({ endpoint, remainingMs: r.until - now, ejections: r.ejections });
    }
    return out;
  }

  /** Forget endpoints of `key` that are no longer among `targets` (endpoint updates). */
  retain(key: string, targets: readonly { readonly id: string }[]): void {
    // Called for every service port on every sync: cheap when nothing was ever ejected.
    const records = this.byKey.get(key);
    if (!records) return;
    const ids = new Set(targets.map((t) => t.id));
    for (const id of records.keys()) if (!ids.has(id)) records.delete(id);
    if (records.size === 0) this.byKey.delete(key);
  }

  remove(key: string): void {
    this.byKey.delete(key);
  }
}
