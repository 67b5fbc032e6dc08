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
