// PURE: one family's desired IPVS state (desired.ts), ipset membership (ipsets.ts) and service
// VIPs, kept per service port so that a partial sync recomputes only the changed service ports
// and learns exactly what moved: which virtual servers to diff, which ipset entries and VIPs
// appeared or went. Shared things are reference-counted: an ipset entry or VIP stays while any
// service port still needs it, and a virtual server claimed by two service ports (a shared
// external IP) goes to the first by key order, as buildDesired() decides it.
//
// A full sync builds a new index from the whole state (O(S)); update() is O(changed).

import type { Endpoint, IPFamily, NodeInfo, ProxyState, ServicePort } from '../../proxy/model/types.js';
import { desiredForService, type DesiredOptions, type DesiredState, type DesiredVirtualServer } from './desired.js';
import { serviceMembership } from './ipsets.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];

interface Contribution {
  readonly vss: readonly DesiredVirtualServer[];
  readonly members: readonly (readonly [string, string])[];
  readonly vips: readonly string[];
}

/** What one update() changed. */
export interface IndexDelta {
  /** vsKeys whose winner may have changed (every key of a changed service port, before and after). */
  readonly vsKeys: ReadonlySet<string>;
  /** The winner of each key in vsKeys before the update (what the last sync programmed there). */
  readonly before: ReadonlyMap<string, DesiredVirtualServer | undefined>;
  readonly vipsAdded: string[];
  readonly vipsRemoved: string[];
  readonly membersAdded: [string, string][];
  readonly membersRemoved: [string, string][];
}

export class DesiredIndex implements DesiredState {
  readonly virtualServers = new Map<string, DesiredVirtualServer>();
  readonly byService = new Map<string, readonly string[]>();
  private readonly contributions = new Map<string, Contribution>();
  /** vsKey → claiming service port key → its virtual server. */
  private readonly claims = new Map<string, Map<string, DesiredVirtualServer>>();
  private readonly vipRefs = new Map<string, number>();
  /** set name → entry → references. */
  private readonly memberRefs = new Map<string, Map<string, number>>();
  /** vsKeys of winning NodePort virtual servers. */
  readonly nodePortKeys = new Set<string>();
  private realServerCount = 0;
  /** Service ports looked at by update() since this index was built (for the O(change) tests). */
  visits = 0;

  private constructor(
    readonly family: IPFamily,
    readonly options: DesiredOptions,
  ) {}

  /** Everything of `state`, from scratch. */
  static build(state: ProxyState, o: DesiredOptions): DesiredIndex {
    const ix = new DesiredIndex(o.family, o);
    const sink = ix.sink();
    for (const [key, sp] of state.services) ix.set(key, sp, state.endpoints.get(key) ?? NO_ENDPOINTS, state.node, sink);
    return ix;
  }

  get vips(): ReadonlySet<string> {
    return new Set(this.vipRefs.keys());
  }

  hasVip(ip: string): boolean {
    return this.vipRefs.has(ip);
  }

  get realServers(): number {
    return this.realServerCount;
  }

  /** The membership as `Membership` (a copy, O(entries): for full syncs). */
  toMembership(): Map<string, Set<string>> {
    return new Map([...this.memberRefs].map(([name, m]) => [name, new Set(m.keys())]));
  }

  /** Re-derive the given service ports from `state` (O(keys)). */
  update(state: ProxyState, keys: Iterable<string>, node: NodeInfo): IndexDelta {
    const sink = this.sink();
    for (const key of keys) {
      this.visits++;
      const sp = state.services.get(key);
      this.set(key, sp, sp ? (state.endpoints.get(key) ?? NO_ENDPOINTS) : NO_ENDPOINTS, node, sink);
    }
    // A VIP or entry that went and came back within one update is no change.
    const vipsAdded = [...sink.vips].filter(([, d]) => d > 0).map(([ip]) => ip);
    const vipsRemoved = [...sink.vips].filter(([, d]) => d < 0).map(([ip]) => ip);
    const membersAdded: [string, string][] = [];
    const membersRemoved: [string, string][] = [];
    for (const [id, d] of sink.members) {
      if (d === 0) continue;
      const i = id.indexOf(' ');
      (d > 0 ? membersAdded : membersRemoved).push([id.slice(0, i), id.slice(i + 1)]);
    }
    return { vsKeys: sink.vsKeys, before: sink.before, vipsAdded, vipsRemoved, membersAdded, membersRemoved };
  }

  private sink(): Sink {
    return { vsKeys: new Set(), before: new Map(), vips: new Map(), members: new Map() };
  }

  private set(key: string, sp: ServicePort | undefined, eps: readonly Endpoint[], node: NodeInfo, sink: Sink): void {
    const old = this.contributions.get(key);
    if (old) this.retract(key, old, sink);
    if (!sp) return;
    const vss = desiredForService(sp, eps, { node }, this.options);
    const members = serviceMembership(sp, eps, node, this.family, this.options.nodePortIPs);
    const vips = [...new Set(vss.filter((d) => d.kind !== 'nodePort').map((d) => d.vs.address))];
    const c: Contribution = { vss, members, vips };
    this.contributions.set(key, c);
    this.byService.set(key, vss.map((d) => d.key));
    for (const d of vss) this.claim(d, sink);
    for (const ip of vips) this.refVip(ip, 1, sink);
    for (const [name, e] of members) this.refMember(name, e, 1, sink);
  }

  private retract(key: string, c: Contribution, sink: Sink): void {
    this.contributions.delete(key);
    this.byService.delete(key);
    for (const d of c.vss) this.unclaim(key, d, sink);
    for (const ip of c.vips) this.refVip(ip, -1, sink);
    for (const [name, e] of c.members) this.refMember(name, e, -1, sink);
  }

  private claim(d: DesiredVirtualServer, sink: Sink): void {
    let m = this.claims.get(d.key);
    if (!m) this.claims.set(d.key, (m = new Map()));
    // One service port claims a key once (buildDesired keeps its first virtual server for it).
    if (m.has(d.serviceKey)) return;
    this.touch(d.key, sink);
    m.set(d.serviceKey, d);
    this.elect(d.key, m);
  }

  private unclaim(serviceKey: string, d: DesiredVirtualServer, sink: Sink): void {
    const m = this.claims.get(d.key);
    if (!m || m.get(serviceKey) !== d) return;
    this.touch(d.key, sink);
    m.delete(serviceKey);
    if (m.size === 0) this.claims.delete(d.key);
    this.elect(d.key, m);
  }

  private touch(vsKey: string, sink: Sink): void {
    if (sink.vsKeys.has(vsKey)) return;
    sink.vsKeys.add(vsKey);
    sink.before.set(vsKey, this.virtualServers.get(vsKey));
  }

  /** The winner of a key: its claimant with the smallest service port key. */
  private elect(vsKey: string, m: ReadonlyMap<string, DesiredVirtualServer>): void {
    let best: DesiredVirtualServer | undefined;
    for (const [k, d] of m) if (best === undefined || k < best.serviceKey) best = d;
    const prev = this.virtualServers.get(vsKey);
    if (prev === best) return;
    if (prev) {
      this.realServerCount -= prev.realServers.length;
      this.nodePortKeys.delete(vsKey);
    }
    if (best) {
      this.virtualServers.set(vsKey, best);
      this.realServerCount += best.realServers.length;
      if (best.kind === 'nodePort') this.nodePortKeys.add(vsKey);
    } else this.virtualServers.delete(vsKey);
  }

  private refVip(ip: string, d: 1 | -1, sink: Sink): void {
    const n = (this.vipRefs.get(ip) ?? 0) + d;
    if (n === 0) this.vipRefs.delete(ip);
    else this.vipRefs.set(ip, n);
    if ((d === 1 && n === 1) || (d === -1 && n === 0)) sink.vips.set(ip, (sink.vips.get(ip) ?? 0) + d);
  }

  private refMember(name: string, entry: string, d: 1 | -1, sink: Sink): void {
    let m = this.memberRefs.get(name);
    if (!m) this.memberRefs.set(name, (m = new Map()));
    const n = (m.get(entry) ?? 0) + d;
    if (n === 0) m.delete(entry);
    else m.set(entry, n);
    if (m.size === 0) this.memberRefs.delete(name);
    if ((d === 1 && n === 1) || (d === -1 && n === 0)) {
      const id = `${name} ${entry}`;
      sink.members.set(id, (sink.members.get(id) ?? 0) + d);
    }
  }
}

interface Sink {
  readonly vsKeys: Set<string>;
  readonly before: Map<string, DesiredVirtualServer | undefined>;
  /** VIP → net appearance (+1) / disappearance (-1) in this update. */
  readonly vips: Map<string, number>;
  readonly members: Map<string, number>;
}
