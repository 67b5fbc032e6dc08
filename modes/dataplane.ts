// The one small interface between the daemon and a dataplane (iptables, ipvs, userspace, noop).
//
// The daemon hands a dataplane the whole desired state plus what changed since the last
// successful sync; the dataplane decides whether it can do a partial sync. `full` asks for a
// full resync (first sync, periodic resync, after a failure, after a node topology change).

import type { ProxyMode } from '../proxy/config/types.js';
import type { ChangeSet, IPFamily, ProxyState } from '../proxy/model/types.js';

export interface SyncRequest {
  readonly state: ProxyState;
  readonly changes: ChangeSet;
  /** The runner requires a full sync (first sync, sync-period elapsed, previous failure). */
  readonly full: boolean;
  /**
   * Aborted when the daemon stops. A dataplane that commits a sync in several transactions may
   * stop between two (each leaves a valid ruleset, and the next start syncs in full) instead of
   * holding the shutdown for the rest of a large sync; one that cannot, ignores it.
   */
  readonly signal?: AbortSignal;
}

export interface SyncResult {
  /** Whether a full sync was done (a dataplane may upgrade a partial request to full). */
  readonly full: boolean;
  /** Human-readable counts for the per-sync log line (e.g. rules written, lines, bytes). */
  readonly stats: Readonly<Record<string, number>>;
  /**
   * Ask the runner to do a full sync next time even though this one succeeded (for example an
   * external flush was detected by the canary chains).
   */
  readonly needFullSync?: boolean;
  /**
   * Seconds each IP family's own work took (upstream runs one proxier per family, each timing its
   * own syncProxyRules). The sync loop observes these under `ip_family`; a dataplane that does not
   * report them (one proxier for every family) is timed as a whole.
   */
  readonly familySeconds?: ReadonlyMap<IPFamily, number>;
}

export interface CleanupOptions {
  /** The mode now running on this node; its objects must survive this cleanup. */
  readonly active?: ProxyMode;
}

/** What a cleanup removed, by kind ("chains", "rules", "tables", ...), for the mode-switch log line. */
export interface CleanupReport {
  readonly removed: Readonly<Record<string, number>>;
}

export interface Dataplane {
  readonly mode: string;
  /** Program the kernel (or proxy) to match `req.state`. Throws on failure; the runner retries. */
  sync(req: SyncRequest): Promise<SyncResult>;
  /**
   * Remove what this dataplane created, found by looking at the kernel (works in a fresh
   * process). Without options: everything (--cleanup). With `active` (a mode switch, after the
   * active mode's first successful sync): only what the active mode does not program itself, so
   * objects two modes share (e.g. KUBE-SERVICES for iptables and ipvs) survive. Foreign state
   * always survives.
   */
  cleanup(opts?: CleanupOptions): Promise<CleanupReport | void>;
  /** Release resources (listeners, timers) on shutdown without removing rules. */
  close?(): Promise<void>;
  /** Per-mode description of what is programmed for one service port, for `explain`. */
  describe?(serviceKey: string): Promise<unknown>;
  /**
   * The rules this dataplane programmed, for `trace`: iptables-save text (iptables-based modes),
   * or our table's netlink dump as JSON (nftables; modes/nftables/trace/dump-json.ts).
   */
  rules?(family: IPFamily): Promise<string | undefined>;
}
