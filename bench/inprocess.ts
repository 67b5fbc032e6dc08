// The iptables dataplane in this process, on a recording runner that never touches the kernel:
// what our own code costs (model snapshot, render, payload build) and how big the payloads are,
// independent of iptables-restore. Same ModelStore and createIptablesDataplane as the daemon.

import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { createIptablesDataplane } from '../modes/iptables/dataplane.js';
import { planFullSync } from '../modes/iptables/payload/full.js';
import { packPlan } from '../modes/iptables/payload/pack.js';
import { recordService } from '../modes/iptables/record.js';
import { buildRenderOptions } from '../modes/iptables/options.js';
import { renderServicePort } from '../modes/iptables/render/service.js';
import type { IptablesRunner } from '../modes/iptables/runner.js';
import type { Dataplane } from '../modes/dataplane.js';
import type { Conntrack } from '../modes/shared/conntrack.js';
import { loadConfig } from '../proxy/config/load.js';
import type { ProxyConfig } from '../proxy/config/types.js';
import { silentLogger } from '../proxy/log.js';
import { ModelStore } from '../proxy/model/store.js';
import type { IPFamily } from '../proxy/model/types.js';
import { ProxyMetrics } from '../sync/metrics.js';
import { SyncLoop } from '../sync/sync-loop.js';
import { createIpvsDataplane } from '../modes/ipvs/dataplane.js';
import { createNftablesDataplane } from '../modes/nftables/dataplane.js';
import type { CommitResult, NftClient, NftOp, NftTableDump } from '../modes/nftables/netlink/types.js';
import { createUserspaceDataplane, type TcpListener } from '../modes/userspace/dataplane.js';
import type { TcpProxyOptions } from '../modes/userspace/tcp-proxy.js';
import { HealthTargetTracker } from '../proxy/service-health-targets.js';
import { localAddresses as hostAddresses } from '../proxy/node-ips.js';
import { FakeIpset, FakeIpvs, FakeLink } from '../test/unit/ipvs-dataplane/fixtures.js';
import { compactObject } from '../proxy/watch/compact.js';
import { stripEndpointSlice, stripNode, stripService, type Strip } from '../proxy/watch/strip.js';
import { BENCH_NODE, BENCH_NODE_IP, type GeneratedCluster } from './generate.js';
import { lineCount } from './stats.js';

/** Flags shared by the daemon and the in-process dataplane, so both render the same rules. */
export function commonFlags(minSyncMs: number): string[] {
  return [
    `--hostname-override=${BENCH_NODE}`,
    '--mode=iptables',
    '--detect-local-mode=NodeCIDR',
    `--iptables-min-sync-period=${minSyncMs}ms`,
    '--iptables-sync-period=1h',
    // The conntrack table size is global to the host: never touch it.
    '--conntrack-max-per-core=0',
  ];
}

export interface RecordedRestore {
  readonly family: IPFamily;
  readonly payload: string;
}

export class RecordingRunner implements IptablesRunner {
  readonly backend = 'nft' as const;
  restores: RecordedRestore[] = [];
  async restore(family: IPFamily, payload: string): Promise<void> {
    this.restores.push({ family, payload });
  }
  async restoreEach(family: IPFamily, payloads: Iterable<string>): Promise<void> {
    for (const payload of payloads) this.restores.push({ family, payload });
  }
  async save(): Promise<string> {
    return '';
  }
  async listChain(): Promise<undefined> {
    return undefined;
  }
}

/**
 * Counts restores and their bytes and keeps none: the real runner hands a payload to
 * iptables-restore and drops it, so a double that kept the first full sync's payload (~230 MiB
 * at 50,000 services) would count it in the mode's retained heap.
 */
export class CountingRunner implements IptablesRunner {
  readonly backend = 'nft' as const;
  restores = 0;
  bytes = 0;
  async restore(_family: IPFamily, payload: string): Promise<void> {
    this.restores++;
    this.bytes += payload.length;
  }
  async restoreEach(family: IPFamily, payloads: Iterable<string>): Promise<void> {
    for (const payload of payloads) await this.restore(family, payload);
  }
  async save(): Promise<string> {
    return '';
  }
  async listChain(): Promise<undefined> {
    return undefined;
  }
}

const noConntrack: Conntrack = {
  clearEntriesForIP: async () => undefined,
  clearEntriesForPort: async () => undefined,
  clearEntriesForNAT: async () => undefined,
  clearEntriesForPortNAT: async () => undefined,
};

export interface InProcess {
  readonly store: ModelStore;
  readonly dataplane: Dataplane;
  readonly runner: RecordingRunner;
  readonly config: ProxyConfig;
}

export function inProcess(families: IPFamily[] = ['IPv4', 'IPv6']): InProcess {
  const { config } = loadConfig(commonFlags(1000));
  const runner = new RecordingRunner();
  const dataplane = createIptablesDataplane({
    config,
    runner,
    conntrack: noConntrack,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    families,
    nodeIPs: () => [BENCH_NODE_IP],
    localAddresses: () => ['127.0.0.1', BENCH_NODE_IP],
  });
  return { store: new ModelStore({ nodeName: BENCH_NODE }), dataplane, runner, config };
}

/**
 * The cluster as the daemon's informers hand it to the store: each object through JSON (what
 * the apiserver sends; the daemon's deserializer keeps the parsed JSON as it is) and then the
 * informers' compactObject with the kind's strip, exactly as proxy/watch/informer.ts caches it.
 * The store then holds objects the size of the daemon's informer cache (which it shares with the
 * cache there), not the builders' objects, which carry Dates and wider arrays.
 */
export function wireCluster(c: GeneratedCluster): GeneratedCluster {
  const wire = <T extends object>(o: T, strip: Strip): T => compactObject(JSON.parse(JSON.stringify(o)) as T, strip);
  return {
    ...c,
    nodes: c.nodes.map((n) => wire(n, stripNode)),
    services: c.services.map((s) => ({ ...s, service: wire(s.service, stripService), slice: wire(s.slice, stripEndpointSlice) })),
  };
}

export function loadCluster(store: ModelStore, c: GeneratedCluster): void {
  for (const n of c.nodes) store.upsertNode(n);
  for (const s of c.services) {
    store.upsertService(s.service);
    store.upsertEndpointSlice(s.slice);
  }
}

export interface SyncMeasure {
  readonly ms: number;
  readonly full: boolean;
  readonly bytes: number;
  readonly lines: number;
  readonly restores: number;
}

/** snapshot + dataplane.sync, timed; the payloads are taken from the recording runner. */
export async function timedSync(p: InProcess, full: boolean): Promise<SyncMeasure & { snapshotMs: number }> {
  p.runner.restores = [];
  const t0 = performance.now();
  const snap = p.store.snapshot();
  const t1 = performance.now();
  const r = await p.dataplane.sync({ state: snap.state, changes: snap.changes, full });
  const t2 = performance.now();
  const payloads = p.runner.restores.map((x) => x.payload);
  return {
    ms: t2 - t0,
    snapshotMs: t1 - t0,
    full: r.full,
    bytes: payloads.reduce((a, x) => a + Buffer.byteLength(x), 0),
    lines: payloads.reduce((a, x) => a + lineCount(x), 0),
    restores: payloads.length,
  };
}

export interface RenderBreakdown {
  readonly snapshotMs: number;
  readonly renderMs: number;
  readonly payloadMs: number;
  readonly bytes: number;
  readonly lines: number;
  readonly payload: string;
}

/** The pure steps of a cold full sync for IPv4, each timed: snapshot, render every port, build payload. */
export function coldRenderBreakdown(c: GeneratedCluster): RenderBreakdown {
  const { config } = loadConfig(commonFlags(1000));
  const store = new ModelStore({ nodeName: BENCH_NODE });
  loadCluster(store, c);
  const t0 = performance.now();
  const { state } = store.snapshot();
  const t1 = performance.now();
  const o = buildRenderOptions({ config, node: state.node, family: 'IPv4', nodeIPs: [BENCH_NODE_IP], localAddresses: ['127.0.0.1', BENCH_NODE_IP] });
  const rendered = [];
  for (const [key, sp] of state.services) {
    const eps = state.endpoints.get(key) ?? [];
    rendered.push({ sp, eps, rules: renderServicePort(sp, eps, state.node, o) });
  }
  const t2 = performance.now();
  // As a cold full sync does: digest every chain for the record, then write everything.
  const planned = rendered.map(({ sp, eps, rules }) => ({ ...recordService(sp, eps, rules), rules: () => rules }));
  const restores = packPlan(planFullSync(o, planned, { tables: new Map(), serviceChains: new Map(), rules: 0 }), Infinity);
  const payload = restores.map((build) => build().payload).join('');
  const t3 = performance.now();
  return {
    snapshotMs: t1 - t0,
    renderMs: t2 - t1,
    payloadMs: t3 - t2,
    bytes: Buffer.byteLength(payload),
    lines: lineCount(payload),
    payload,
  };
}

/** Apply objects to the in-process store the way the watch would. */
export function applyObjects(store: ModelStore, ops: readonly BenchOp[]): void {
  for (const op of ops) {
    if (op.kind === 'upsert') {
      if (op.obj.kind === 'Service') store.upsertService(op.obj as V1Service);
      else store.upsertEndpointSlice(op.obj as V1EndpointSlice);
    } else if (op.obj.kind === 'Service') store.deleteService(op.obj as V1Service);
    else store.deleteEndpointSlice(op.obj as V1EndpointSlice);
  }
}

export interface BenchOp {
  readonly kind: 'upsert' | 'delete';
  readonly obj: V1Service | V1EndpointSlice;
}

// ---- Every mode in this process, as the daemon assembles it (issue #18's "own work") ----
//
// The model store, the real dataplane of the mode and the sync loop with the daemon's per-sync
// observer (health-check targets), on doubles that record instead of touching the kernel: a
// recording iptables runner, in-memory IPVS / ipset / kube-ipvs0 fakes, an nf_tables client that
// only hands out handles, and TCP listeners without sockets (a socket per service port at 50,000
// would exceed the open-file limit and is the kernel's work, not ours).

export const INPROCESS_MODES = ['iptables', 'ipvs', 'userspace', 'nftables'] as const;
export type InProcessMode = (typeof INPROCESS_MODES)[number];

/** nf_tables double: accepts every batch and gives each added object a handle; no table exists. */
export class RecordingNftClient implements NftClient {
  private next = 1n;
  ops = 0;
  async commit(ops: readonly NftOp[]): Promise<CommitResult> {
    this.ops += ops.length;
    const handles = ops.map((op) => (op.op.startsWith('add-') ? this.next++ : undefined));
    return { handles, bytes: 0, kernelMs: 0 };
  }
  async dumpTable(): Promise<NftTableDump | undefined> {
    return undefined;
  }
  async close(): Promise<void> {}
}

function socketlessListener(o: TcpProxyOptions, port: number): TcpListener {
  return { host: o.host, port, activeConnections: 0, stopAccepting: async () => undefined, close: async () => undefined };
}

export interface ModeHarness {
  readonly mode: InProcessMode;
  readonly store: ModelStore;
  readonly loop: SyncLoop;
  /** One sync as the runner starts it ('initial' is full, 'request' partial). */
  sync(reason: 'initial' | 'request'): Promise<void>;
  close(): Promise<void>;
}

export async function modeHarness(mode: InProcessMode, families: IPFamily[] = ['IPv4', 'IPv6']): Promise<ModeHarness> {
  const { config } = loadConfig([...commonFlags(1000).filter((f) => !f.startsWith('--mode=')), `--mode=${mode}`]);
  const metrics = new ProxyMetrics({ processMetrics: false });
  // The daemon's address reader (proxy/daemon.ts passes it as nodeIPs; iptables and nftables
  // default their local-address reader to it): what reading the host's interfaces costs a sync is
  // the daemon's work too. Constant lists here hid four interface dumps per iptables sync.
  const nodeIPs = hostAddresses;
  const localAddresses = hostAddresses;
  let dataplane: Dataplane;
  switch (mode) {
    case 'iptables':
      dataplane = createIptablesDataplane({ config, runner: new CountingRunner(), conntrack: noConntrack, metrics, logger: silentLogger, families, nodeIPs, localAddresses });
      break;
    case 'ipvs':
      dataplane = await createIpvsDataplane({
        config,
        logger: silentLogger,
        metrics,
        families,
        nodeIPs: localAddresses,
        ipvs: new FakeIpvs(),
        runner: new CountingRunner(),
        ipset: new FakeIpset(),
        link: new FakeLink(),
        sysctl: async () => undefined,
        conntrack: noConntrack,
        clock: () => 0,
      });
      break;
    case 'userspace': {
      let port = 20_000;
      dataplane = createUserspaceDataplane({
        config,
        runner: new CountingRunner(),
        metrics,
        logger: silentLogger,
        families,
        listenHost: '::',
        udpNodeAddress: () => undefined,
        listenTcp: async (o) => socketlessListener(o, port++),
      });
      break;
    }
    case 'nftables':
      dataplane = createNftablesDataplane({ config, client: new RecordingNftClient(), conntrack: noConntrack, metrics, logger: silentLogger, families, nodeIPs, localAddresses });
      break;
  }
  const store = new ModelStore({ nodeName: BENCH_NODE });
  const healthTargets = new HealthTargetTracker();
  const loop = new SyncLoop({
    source: store,
    dataplane,
    metrics,
    logger: silentLogger,
    families,
    ready: () => true,
    // The daemon's own observer work: health-check targets from the change set.
    observers: [{ synced: (state, _r, { changes, full }) => void healthTargets.update(state, changes, full) }],
  });
  return {
    mode,
    store,
    loop,
    sync: (reason) => loop.run({ reason }),
    close: async () => void (await dataplane.close?.()),
  };
}
