// IPVS mode: service VIPs on kube-ipvs0, one IPVS virtual server per address:port:protocol, and a
// constant-size set of iptables rules driven by ipsets for masquerade, hairpin, source ranges and
// NodePort acceptance.
//
// Each sync: desired state (pure) → bind new VIPs → ipsets → iptables (full syncs only: the rules
// depend on configuration, not on services) → IPVS reconcile (pure diff, scoped to the changed
// services on partial syncs, plus every draining real server) → unbind stale VIPs → clear stale
// UDP/SCTP conntrack entries (as iptables mode and upstream's IPVS proxier do) → gauges.

import type { ProxyConfig } from '../../proxy/config/types.js';
import type { Logger } from '../../proxy/log.js';
import { ipsOfFamily } from '../../proxy/model/family.js';
import type { IPFamily, ProxyState } from '../../proxy/model/types.js';
import type { ProxyMetrics } from '../../sync/metrics.js';
import type { CleanupOptions, Dataplane, SyncRequest, SyncResult } from '../dataplane.js';
import type { Conntrack } from '../shared/conntrack.js';
import { createConntrack } from '../shared/conntrack-exec.js';
import { executeConntrackPlan, planConntrackCleanup } from '../shared/conntrack-plan.js';
import { localDetectorFor } from '../iptables/options.js';
import type { IptablesRunner } from '../iptables/runner.js';
import { parseSave, type SavedTables } from '../iptables/save-parse.js';
import { planLeftoverRemoval } from '../iptables/handover.js';
import { IPTABLES_MODE_CHAINS } from '../iptables/cleanup-for-ipvs.js';
import { applyOperations } from './apply.js';
import { isLive, readIpvsConnections, vsAddressKey, type IpvsConnection } from './connections.js';
import { serviceVIPs, type DesiredState, type DesiredVirtualServer } from './desired.js';
import { DesiredIndex, type IndexDelta } from './desired-index.js';
import { createDummyLink, diffAddresses, type DummyLink } from './dummy-link.js';
import { GracefulTerminationList } from './graceful.js';
import { createIpsetRunner, type IpsetRunner } from './ipset-exec.js';
import { allSetNames, parseIpsetSave, renderIpsetDelta, renderIpsetRestore, SET_IDS, setName, STALE_SET_NAMES, type Membership } from './ipsets.js';
import { IPVS_MODE_CHAINS, missingJumps, renderIpvsIptables, renderIpvsIptablesCleanup, staleJumps, type IpvsRuleOptions } from './iptables-rules.js';
import { nodePortIPs } from './node-port-ips.js';
import { vsKey, type IpvsOps, type VirtualServer, type VirtualServerKey } from './ops.js';
import { isOwnedBy } from './ownership.js';
import { reconcile, type CurrentVirtualServer, type ReconcilePlan } from './reconcile.js';
import { applySysctls, ipvsSysctls, type SysctlWriter } from './sysctls.js';

export interface IpvsDataplaneOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly families: IPFamily[];
  /** This host's addresses (NodePort virtual servers go on the selected ones). */
  readonly nodeIPs: () => string[];
  readonly ipvs?: IpvsOps;
  readonly runner?: IptablesRunner;
  readonly ipset?: IpsetRunner;
  readonly link?: DummyLink;
  readonly sysctl?: SysctlWriter;
  /** Stale UDP/SCTP flow removal (defaults to the conntrack tool). */
  readonly conntrack?: Conntrack;
  /** Milliseconds; drives graceful termination. */
  readonly clock?: () => number;
  readonly gracefulWaitMs?: number;
  /** Waits between polls of connection counts (injectable so tests drive the clock). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** IPVS's connection table (defaults to /proc/net/ip_vs_conn). */
  readonly connections?: () => Promise<readonly IpvsConnection[]>;
}

interface FamilyState {
  /** What the last successful sync programmed, per service port (O(change) updates). */
  desired?: DesiredIndex;
  /** Our ipsets as the kernel held them at start or at the last full sync (a previous process's NodePorts). */
  membership?: Membership;
  nodePortIPs: string;
}

export async function createIpvsDataplane(opts: IpvsDataplaneOptions): Promise<Dataplane> {
  const ipvs = opts.ipvs ?? (await openIpvs());
  const runner = opts.runner ?? (await defaultRunner(opts.logger));
  const ipset = opts.ipset ?? createIpsetRunner();
  const link = opts.link ?? createDummyLink();
  const conntrack = opts.conntrack ?? createConntrack({ logger: opts.logger });
  const { config, logger, metrics, families } = opts;
  const graceful = new GracefulTerminationList(opts.clock ?? Date.now, opts.gracefulWaitMs ?? opts.config.ipvs.gracefulTerminationPeriodMs);
  const fam = new Map<IPFamily, FamilyState>(families.map((f) => [f, { nodePortIPs: '' }]));
  let initialized = false;
  /** The state of the last successful sync, which the conntrack cleanup compares against. */
  let lastState: ProxyState | undefined;
  /** The last sync succeeded: the records below match the kernel, a partial sync may follow. */
  let consistent = false;
  /** Addresses on kube-ipvs0 as of the last sync (read from the link on full syncs only). */
  let bound = new Set<string>();
  /** opts.nodeIPs() as of the last full sync. */
  let hostIPs: string[] | undefined;

  const ruleOptions = (state: ProxyState, family: IPFamily): IpvsRuleOptions => ({
    family,
    masqueradeBit: config.iptables.masqueradeBit,
    masqueradeAll: config.iptables.masqueradeAll,
    localDetector: localDetectorFor(config, state.node, family),
    dropInvalid: !config.conntrack.tcpBeLiberal,
  });

  async function init(): Promise<void> {
    for (const f of await applySysctls(ipvsSysctls(config.ipvs.strictARP), opts.sysctl)) {
      logger.warn('could not set sysctl', f);
    }
    const s = (ms: number): number => Math.round(ms / 1000);
    const t = { tcp: s(config.ipvs.tcpTimeoutMs), tcpFin: s(config.ipvs.tcpFinTimeoutMs), udp: s(config.ipvs.udpTimeoutMs) };
    if (t.tcp > 0 || t.tcpFin > 0 || t.udp > 0) await ipvs.setTimeouts(t);
    await link.ensure();
    // What a previous process left in our sets tells us which NodePort VSes are ours.
    const saved = await ipset.save().catch(() => '');
    for (const f of families) fam.get(f)!.membership = parseIpsetSave(saved, new Set(allSetNames()));
  }

  async function sync(req: SyncRequest): Promise<SyncResult> {
    // Per-family time: the work every family needs (link, listings) counts for each, as each of
    // upstream's per-family proxiers does it for itself; the rest is timed per family below.
    const started = performance.now();
    const familyMs = new Map<IPFamily, number>(families.map((f) => [f, 0]));
    const charge = (f: IPFamily, since: number): void => void familyMs.set(f, familyMs.get(f)! + performance.now() - since);
    // (cleanup() forgets the records too.)
    let full = req.full || !initialized || req.changes.nodeChanged || !consistent || families.some((f) => !fam.get(f)!.desired);
    if (!initialized) {
      await init();
      initialized = true;
    }
    // Until this sync has succeeded, the records below may be half updated: the next sync is full.
    consistent = false;
    const { state } = req;
    // Host addresses and the link's addresses (every VIP) are read on full syncs only: both lists
    // hold every service VIP, so reading them per change would cost O(cluster). Partial syncs use
    // what the last sync bound; a change of the host's addresses is picked up by the next full sync
    // (a Node change, the periodic resync, or a failure).
    if (full || hostIPs === undefined) hostIPs = opts.nodeIPs();
    const linkBefore = full ? new Set(await link.addresses()) : bound;
    const perFamily = new Map<IPFamily, { npIPs: string[]; index: DesiredIndex; delta?: IndexDelta }>();
    for (const f of families) {
      const familyStart = performance.now();
      const fs = fam.get(f)!;
      const vips: { has(ip: string): boolean } = full ? serviceVIPs(state, f) : { has: (ip) => fs.desired!.hasVip(ip) };
      const npIPs = nodePortIPs({
        selection: config.nodePortAddresses,
        localAddresses: hostIPs,
        primary: ipsOfFamily(state.node.addresses, f),
        family: f,
        vips: { has: (ip) => vips.has(ip) || linkBefore.has(ip) },
      });
      // A changed node address moves every NodePort VS: not something a partial diff covers.
      if (!full && npIPs.join(',') !== fs.nodePortIPs) full = true;
      perFamily.set(f, { npIPs, index: fs.desired! });
      charge(f, familyStart);
    }
    for (const f of families) {
      const familyStart = performance.now();
      const p = perFamily.get(f)!;
      const dopts = { family: f, scheduler: config.ipvs.scheduler, nodePortIPs: p.npIPs };
      if (full) p.index = DesiredIndex.build(state, dopts);
      else p.delta = p.index.update(state, req.changes.changed, state.node);
      charge(f, familyStart);
    }

    let addrDiff: { add: string[]; remove: string[] };
    if (full) {
      const allVips = new Set<string>();
      for (const { index } of perFamily.values()) for (const v of index.vips) allVips.add(v);
      addrDiff = diffAddresses(allVips, [...linkBefore]);
    } else {
      const add: string[] = [];
      const remove: string[] = [];
      for (const { delta } of perFamily.values()) {
        for (const v of delta!.vipsAdded) if (!bound.has(v)) add.push(v);
        for (const v of delta!.vipsRemoved) if (bound.has(v)) remove.push(v);
      }
      addrDiff = { add: add.sort(), remove: remove.sort() };
    }
    await link.apply(addrDiff.add, []);

    const requestsBefore = netlinkRequests(ipvs);
    // Full syncs diff the sets against the kernel instead of flushing them: `ipset restore` applies
    // its lines one by one, so a flush leaves the sets empty for the whole refill, and meanwhile
    // KUBE-IPVS-FILTER rejects new connections to every VIP (seen in the guest as ECONNREFUSED).
    const kernelSets = full ? parseIpsetSave(await ipset.save().catch(() => ''), new Set(allSetNames())) : undefined;
    // Listed once for all families, and in a partial sync only if the record cannot answer.
    let listed: VirtualServer[] | undefined;
    const listAll = async (): Promise<VirtualServer[]> => (listed ??= await ipvs.listServices());
    const stats = { virtualServers: 0, realServers: 0, ipvsOps: 0, netlinkRequests: 0, ipsetLines: 0, draining: 0, conntrackOps: 0 };
    let sharedMs = performance.now() - started;
    let recheck = false;
    for (const f of families) {
      const familyStart = performance.now();
      const fs = fam.get(f)!;
      const { npIPs, index, delta } = perFamily.get(f)!;

      let ipsetPayload: string;
      let changedLines: number;
      if (full) {
        ipsetPayload = renderIpsetRestore(f, index.toMembership(), kernelSets);
        changedLines = ipsetPayload.split('\n').filter((l) => /^(add|del|flush) /.test(l)).length;
      } else {
        ipsetPayload = renderIpsetDelta(f, delta!.membersAdded, delta!.membersRemoved);
        changedLines = delta!.membersAdded.length + delta!.membersRemoved.length;
      }
      if (full || changedLines > 0) await ipset.restore(ipsetPayload);
      stats.ipsetLines += changedLines;
      if (changedLines > 0 && changedLines <= 50) {
        logger.v(4, 'ipset changes', { family: f, full, lines: ipsetPayload.split('\n').filter((l) => /^(add|del|flush) /.test(l)) });
      }


      // Evidence for "is this existing virtual server ours": views, never copies of every VIP.
      const ownedBy = (programmed: { has(k: string): boolean }): ((vs: VirtualServerKey) => boolean) =>
        isOwnedBy({
          vips: { has: (ip) => linkBefore.has(ip) || index.hasVip(ip) },
          programmedNodePorts: programmed,
          nodeIPs: new Set(hostIPs),
          ipsets: new Map([[f, kernelSets ?? fs.membership ?? new Map()]]),
        });
      let plan: ReconcilePlan;
      if (full) {
        const current = await dumpCurrent(ipvs, (await listAll()).filter((vs) => vs.family === f), 'all', index);
        plan = reconcile({ desired: index.virtualServers, current, scope: 'all', isOwned: ownedBy(fs.desired?.nodePortKeys ?? new Set()), graceful });
      } else {
        const d = delta!;
        const scope = new Set<string>([...d.vsKeys, ...graceful.vsKeys()]);
        const programmed = (k: string): DesiredVirtualServer | undefined => (d.before.has(k) ? d.before.get(k) : index.virtualServers.get(k));
        const fromRecord = await currentFromRecord(ipvs, scope, programmed, index);
        // Every virtual server the record lists is one this process programmed: ours.
        const current = fromRecord ?? (await dumpCurrent(ipvs, (await listAll()).filter((vs) => vs.family === f), scope, index));
        const isOwned = fromRecord ? () => true : ownedBy({ has: (k) => index.nodePortKeys.has(k) || programmed(k)?.kind === 'nodePort' });
        plan = reconcile({ desired: index.virtualServers, current, scope, isOwned, graceful });
        // A VIP that became a node address candidate changes the NodePort addresses: full next.
        if (d.vipsAdded.some((v) => npIPs.includes(v))) recheck = true;
      }
      await applyOperations(ipvs, plan.ops);
      for (const [key, still] of plan.draining) graceful.replace(key, still);
      // After the virtual servers: on a takeover or a switch from iptables mode, the old mode's
      // DNAT rules in KUBE-SERVICES keep serving until this atomic rewrite, and from then on IPVS
      // already has every service (rules first would send new connections to a VIP that IPVS
      // does not know yet: refused by the host).
      if (full) await writeIptables(f, ruleOptions(state, f));

      fs.desired = index;
      if (kernelSets) fs.membership = kernelSets;
      fs.nodePortIPs = npIPs.join(',');
      metrics.ipvsVirtualServers.set({ ip_family: f }, index.virtualServers.size);
      metrics.ipvsRealServers.set({ ip_family: f }, index.realServers);
      stats.virtualServers += index.virtualServers.size;
      stats.realServers += index.realServers;
      stats.ipvsOps += plan.ops.length;
      charge(f, familyStart);
    }
    if (full) await destroyStaleSets();
    // Unbind last: the virtual servers on these addresses are gone by now.
    const unbindStart = performance.now();
    await link.apply([], addrDiff.remove);
    if (full) bound = new Set([...linkBefore].filter((a) => !addrDiff.remove.includes(a)).concat(addrDiff.add));
    else {
      for (const a of addrDiff.add) bound.add(a);
      for (const a of addrDiff.remove) bound.delete(a);
    }
    sharedMs += performance.now() - unbindStart;
    // Now that the real servers are right, drop UDP/SCTP flows that would stay on a removed
    // endpoint, or that were black-holed while the service had none: the kernel keeps a flow's
    // (confirmed) conntrack entry, and IPVS does not reschedule a flow that has one.
    const keys = full ? new Set([...state.services.keys(), ...(lastState?.services.keys() ?? [])]) : req.changes.changed;
    for (const f of families) {
      const ctStart = performance.now();
      const ops = planConntrackCleanup(lastState, state, keys, [f]);
      for (const err of await executeConntrackPlan(conntrack, ops)) logger.warn('conntrack cleanup failed', { family: f, err });
      stats.conntrackOps += ops.length;
      charge(f, ctStart);
    }
    lastState = state;
    consistent = true;
    stats.draining = graceful.size;
    stats.netlinkRequests = netlinkRequests(ipvs) - requestsBefore;
    logger.v(2, 'ipvs sync done', { full, ...stats, vipsAdded: addrDiff.add.length, vipsRemoved: addrDiff.remove.length });
    const familySeconds = new Map([...familyMs].map(([f, ms]) => [f, (ms + sharedMs) / 1000] as const));
    return {
      full,
      familySeconds,
      stats: { ...stats, vipsAdded: addrDiff.add.length, vipsRemoved: addrDiff.remove.length },
      ...(recheck ? { needFullSync: true } : {}),
    };
  }

  async function writeIptables(f: IPFamily, o: IpvsRuleOptions): Promise<void> {
    const saved: SavedTables = parseSave((await runner.save(f, 'nat')) + '\n' + (await runner.save(f, 'filter')));
    try {
      await runner.restore(f, renderIpvsIptables(o, missingJumps(saved), staleJumps(saved)));
    } catch (e) {
      metrics.iptablesRestoreFailures.inc({ ip_family: f });
      throw e;
    }
  }

  /**
   * Sets we no longer create (upstream's, older versions'), once no rule of ours references them:
   * a takeover leaves no set behind that this proxy would not make. One that is still in use (a
   * foreign rule) is reported once and left.
   */
  const staleSetWarned = new Set<string>();
  async function destroyStaleSets(): Promise<void> {
    const existing = new Set(await ipset.list().catch(() => [] as string[]));
    // A family this process does not run has no sets of ours either (upstream makes both).
    const unused = (['IPv4', 'IPv6'] as const).filter((f) => !families.includes(f)).flatMap((f) => SET_IDS.map((id) => setName(id, f)));
    for (const name of [...STALE_SET_NAMES, ...unused]) {
      if (!existing.has(name)) continue;
      try {
        await ipset.destroy(name);
        logger.info('destroyed a stale ipset', { set: name });
      } catch (err) {
        if (!staleSetWarned.has(name)) logger.warn('could not destroy a stale ipset; leaving it', { set: name, err });
        staleSetWarned.add(name);
      }
    }
  }

  /**
   * Without options (--cleanup): everything of ours. With another mode active (a switch in place,
   * after that mode's first sync, so new connections already take its rules): first a bounded
   * wait for the established connections IPVS itself carries (the kernel drops every further
   * packet of a connection whose real server is deleted, and expire_nodest_conn=1 expires it),
   * then the virtual servers, kube-ipvs0, our iptables objects except those an active iptables
   * mode shares (handover.ts), and the sets.
   */
  async function cleanup(co?: CleanupOptions): Promise<void> {
    if (co?.active === 'ipvs') return;
    const switching = co?.active !== undefined;
    const vips = new Set(await link.addresses());
    const members = parseIpsetSave(await ipset.save().catch(() => ''), new Set(allSetNames()));
    const owned = isOwnedBy({
      vips,
      programmedNodePorts: new Set([...fam.values()].flatMap((s) => [...nodePortKeys(s.desired)])),
      nodeIPs: new Set(opts.nodeIPs()),
      ipsets: new Map(families.map((f) => [f, members])),
    });
    const ours = (await ipvs.listServices()).filter((vs) => owned(vs));
    if (switching && ours.length > 0) await drainConnections(ours);
    for (const vs of ours) await ipvs.deleteService(vs);
    await link.remove();
    for (const f of families) {
      if (co?.active === 'iptables') await restoreFresh(f, (saved) => planLeftoverRemoval(saved, IPVS_MODE_CHAINS, IPTABLES_MODE_CHAINS));
      else await restoreFresh(f, (saved) => renderIpvsIptablesCleanup(saved) ?? '');
    }
    // Sets can only be destroyed once no iptables rule references them.
    const existing = new Set(await ipset.list());
    for (const name of [...allSetNames(), ...STALE_SET_NAMES]) if (existing.has(name)) await ipset.destroy(name);
    for (const s of fam.values()) {
      s.desired = undefined;
      s.membership = undefined;
    }
    lastState = undefined;
    if (switching) logger.info('removed IPVS-mode leftovers', { active: co?.active, virtualServers: ours.length, addresses: vips.size });
  }

  /** Plans from a fresh iptables-save and restores; re-planned when the kernel changed under us. */
  async function restoreFresh(f: IPFamily, plan: (saved: SavedTables) => string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const saved = parseSave((await runner.save(f, 'nat')) + '\n' + (await runner.save(f, 'filter')));
      const payload = plan(saved);
      if (payload === '') return;
      try {
        await runner.restore(f, payload);
        return;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }

  /**
   * Waits (at most the graceful termination period) until no connection through `vses` is still
   * open (connections.ts: SYN_RECV and half-closed ones count, TIME_WAIT does not). Without the
   * connection table, the real servers' ActiveConn counters (ESTABLISHED only) are what is left.
   */
  async function drainConnections(vses: readonly VirtualServer[]): Promise<void> {
    const now = opts.clock ?? Date.now;
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const readTable = opts.connections ?? readIpvsConnections;
    const waitMs = opts.gracefulWaitMs ?? config.ipvs.gracefulTerminationPeriodMs;
    const deadline = now() + waitMs;
    const ours = new Set(vses.map((vs) => `${vs.protocol} ${vsAddressKey(vs.address, vs.port)}`));
    /** Open connections through `vses`, and (for the log) a few of them with their states. */
    const open = async (): Promise<{ n: number; sample?: string[] }> => {
      const table = await readTable().catch(() => undefined);
      if (table) {
        const live = table.filter((c) => ours.has(`${c.protocol} ${c.virtual}`) && isLive(c));
        return { n: live.length, sample: live.slice(0, 5).map((c) => `${c.protocol} ${c.client} -> ${c.virtual} ${c.state}`) };
      }
      let active = 0;
      for (const vs of vses) for (const rs of await ipvs.listDestinations(vs).catch(() => [])) active += rs.activeConns ?? 0;
      return { n: active };
    };
    for (let first = true; ; first = false) {
      const { n, sample } = await open();
      if (n === 0) return;
      if (now() >= deadline) {
        logger.warn('IPVS connections still open after the graceful termination period; removing their virtual servers', { openConnections: n, waitedMs: waitMs, ...(sample ? { connections: sample } : {}) });
        return;
      }
      if (first) logger.info('waiting for connections through IPVS to finish before removing its virtual servers', { openConnections: n, maxWaitMs: waitMs, ...(sample ? { connections: sample } : {}) });
      await sleep(Math.min(500, Math.max(1, deadline - now())));
    }
  }

  return {
    mode: 'ipvs',
    sync,
    cleanup,
    async close() {
      ipvs.close();
    },
    async describe(serviceKey: string) {
      const out: Record<string, unknown> = {};
      for (const [f, s] of fam) {
        const keys = s.desired?.byService.get(serviceKey) ?? [];
        out[f] = keys.map((k) => {
          const d = s.desired!.virtualServers.get(k)!;
          return { virtualServer: k, kind: d.kind, scheduler: d.vs.scheduler, persistent: d.vs.flags !== 0, timeoutSeconds: d.vs.timeoutSeconds, realServers: d.realServers.map((r) => `${r.address}:${r.port}`), draining: graceful.vsKeys().includes(k) };
        });
      }
      return out;
    },
  };
}

/** Requests (dumps included) the IPVS client has issued, when it counts them (the real one does). */
function netlinkRequests(ipvs: IpvsOps): number {
  const n = (ipvs as { requestCount?: unknown }).requestCount;
  return typeof n === 'number' ? n : 0;
}

function nodePortKeys(d: DesiredState | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of d?.virtualServers.values() ?? []) if (v.kind === 'nodePort') out.add(v.key);
  return out;
}

/**
 * Kernel state for a partial sync's scope without listing every virtual server (one dump of the
 * whole table is O(cluster) work even if it is one request): each virtual server in scope is
 * taken from what the last sync programmed, and only its real servers are listed. If it vanished
 * behind our back, the first operation on it fails and the retry is a full sync, which lists
 * everything; undefined (list everything now) when a listing itself fails.
 */
async function currentFromRecord(
  ipvs: IpvsOps,
  scope: ReadonlySet<string>,
  programmed: (vsKey: string) => DesiredVirtualServer | undefined,
  desired: DesiredState,
): Promise<Map<string, CurrentVirtualServer> | undefined> {
  const current = new Map<string, CurrentVirtualServer>();
  for (const key of scope) {
    const vs = programmed(key)?.vs;
    // Never programmed: absent. (Were someone else's virtual server there, adding ours fails,
    // and the retry is a full sync, which lists everything.)
    if (!vs) continue;
    try {
      current.set(key, { vs, realServers: desired.virtualServers.has(key) ? await ipvs.listDestinations(vs) : [] });
    } catch {
      return undefined;
    }
  }
  return current;
}

/** Kernel state for the reconcile: real servers are listed only for desired VSes in scope. */
async function dumpCurrent(
  ipvs: IpvsOps,
  services: readonly VirtualServer[],
  scope: 'all' | ReadonlySet<string>,
  desired: DesiredState,
): Promise<Map<string, CurrentVirtualServer>> {
  const current = new Map<string, CurrentVirtualServer>();
  for (const vs of services) {
    const key = vsKey(vs);
    const inScope = scope === 'all' || scope.has(key);
    const needRs = inScope && desired.virtualServers.has(key);
    current.set(key, { vs, realServers: needRs ? await ipvs.listDestinations(vs) : [] });
  }
  return current;
}

async function openIpvs(): Promise<IpvsOps> {
  try {
    const { IpvsClient } = await import('./netlink/client.js');
    const client = await IpvsClient.open();
    return client;
  } catch (e) {
    throw new Error(`IPVS not available: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function defaultRunner(logger: Logger): Promise<IptablesRunner> {
  const { createIptablesRunner } = await import('../iptables/exec/runner.js');
  return createIptablesRunner({ logger });
}
