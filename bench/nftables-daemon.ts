// nftables mode in the main benchmark (issue #13): the real daemon with --mode=nftables in a
// private network namespace against the test apiserver, as bench/daemon-bench.ts runs iptables
// mode, one daemon per cluster size. Every number is the daemon's own: its logged sync duration
// and the stats its nftables dataplane logs with each sync (kernelMs = time inside the netlink
// commits, dumpMs = time inside the table dump, bytes/ops sent). In-process: the same changes on
// the same dataplane with a client that encodes every batch but sends nothing (our work alone).
//
//   startup  spawn → first full sync (duration, kernel share, dump, bytes, transactions), RSS
//   sync     the single changes of bench/ops.ts (endpoint add/remove, service add/remove, 100 endpoints)
//   latency  apiserver write of one new endpoint → the daemon's sync that programmed it has logged
//            (its commit has been acknowledged), changes 0–300 ms after the previous one landed

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNftablesDataplane } from '../modes/nftables/dataplane.js';
import { encodeBatch } from '../modes/nftables/netlink/batch.js';
import type { CommitResult, NftClient, NftOp } from '../modes/nftables/netlink/types.js';
import type { Dataplane } from '../modes/dataplane.js';
import { loadConfig } from '../proxy/config/load.js';
import { silentLogger } from '../proxy/log.js';
import { ModelStore } from '../proxy/model/store.js';
import { ProxyMetrics } from '../sync/metrics.js';
import { TestApiServer, kubeconfigFor } from '../test/apiserver/index.js';
import { BENCH_NODE, BENCH_NODE_IP, generateCluster } from './generate.js';
import { applyObjects, loadCluster, type BenchOp } from './inprocess.js';
import { BenchDaemon, createNs, metricValue, startBridge, type SyncLine, type Timed } from './netns.js';
import { OP_NAMES, OpGenerator, type OpName } from './ops.js';
import { median, percentile, sleep, wallMs } from './stats.js';

const METRICS_PORT = 10249;

export interface NftDaemonBenchOptions {
  readonly size: number;
  readonly endpoints: number;
  readonly seed: number;
  readonly minSyncMs: number;
  readonly reps: number;
  readonly latencyChanges: number;
  readonly firstSyncTimeoutMs: number;
  readonly log: (msg: string) => void;
}

/** One sync (or the sum of the syncs one change caused), as the daemon logged it. */
export interface NftSyncNumbers {
  readonly ms: number;
  readonly kernelMs: number;
  readonly dumpMs: number;
  readonly bytes: number;
  readonly ops: number;
  readonly transactions: number;
}

export interface NftOpResult extends NftSyncNumbers {
  readonly reps: number;
  readonly syncs: number;
  readonly full: boolean;
  /** The same change in-process (no kernel): our own work, and the bytes it would send. */
  readonly inProcessMs: number;
  readonly inProcessBytes: number;
}

export interface NftDaemonSizeResult {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly servicePorts: number;
  readonly firstSync: NftSyncNumbers & { readonly spawnToSyncedMs: number; readonly inProcessMs: number };
  /** VmRSS after the first sync, and after the single changes. */
  readonly rssBytes: number;
  readonly rssAfterOpsBytes?: number;
  readonly heapUsedBytes: number;
  readonly ops?: Partial<Record<OpName, NftOpResult>>;
  readonly latency?: { readonly changes: number; readonly minSyncMs: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

export class NftFirstSyncTimeout extends Error {}

const num = (rec: SyncLine, k: string): number => (typeof rec[k] === 'number' ? (rec[k] as number) : 0);
const numbers = (recs: readonly SyncLine[]): NftSyncNumbers => ({
  ms: recs.reduce((a, r) => a + r.durationMs, 0),
  kernelMs: recs.reduce((a, r) => a + num(r, 'kernelMs'), 0),
  dumpMs: recs.reduce((a, r) => a + num(r, 'dumpMs'), 0),
  bytes: recs.reduce((a, r) => a + num(r, 'bytes'), 0),
  ops: recs.reduce((a, r) => a + num(r, 'ops'), 0),
  transactions: recs.reduce((a, r) => a + num(r, 'transactions'), 0),
});

export function nftFlags(minSyncMs: number): string[] {
  return [
    `--hostname-override=${BENCH_NODE}`,
    '--mode=nftables',
    '--detect-local-mode=NodeCIDR',
    `--min-sync-period=${minSyncMs}ms`,
    '--sync-period=1h',
    '--conntrack-max-per-core=0',
  ];
}

/** Encodes every batch as the netlink client would, sends nothing: what our own code costs. */
export class EncodeOnlyClient implements NftClient {
  bytes = 0;
  private handle = 1n;
  async commit(ops: readonly NftOp[]): Promise<CommitResult> {
    const b = encodeBatch(ops, { firstSeq: 1, echoRules: true });
    this.bytes += b.datagram.length;
    return { handles: ops.map((o) => (o.op === 'add-rule' ? this.handle++ : undefined)), bytes: b.datagram.length, kernelMs: 0 };
  }
  async dumpTable(): Promise<undefined> {
    return undefined;
  }
  async close(): Promise<void> {}
}

export interface NftInProcess {
  readonly store: ModelStore;
  readonly dp: Dataplane;
  readonly client: EncodeOnlyClient;
}

export function nftInProcess(): NftInProcess {
  const { config } = loadConfig(nftFlags(1000));
  const client = new EncodeOnlyClient();
  const noCt = { clearEntriesForIP: async () => undefined, clearEntriesForPort: async () => undefined, clearEntriesForNAT: async () => undefined, clearEntriesForPortNAT: async () => undefined };
  const dp = createNftablesDataplane({
    config,
    client,
    conntrack: noCt,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    families: ['IPv4'],
    nodeIPs: () => [BENCH_NODE_IP],
    localAddresses: () => ['127.0.0.1', BENCH_NODE_IP],
  });
  return { store: new ModelStore({ nodeName: BENCH_NODE }), dp, client };
}

async function inProcessSync(p: NftInProcess, full: boolean): Promise<{ ms: number; bytes: number }> {
  p.client.bytes = 0;
  const t0 = performance.now();
  const snap = p.store.snapshot();
  await p.dp.sync({ state: snap.state, changes: snap.changes, full });
  return { ms: performance.now() - t0, bytes: p.client.bytes };
}

export async function runNftDaemonBench(o: NftDaemonBenchOptions): Promise<NftDaemonSizeResult> {
  const cluster = generateCluster({ services: o.size, endpointsPerService: o.endpoints, seed: o.seed });
  const dir = mkdtempSync(join(tmpdir(), 'kptb-nft-'));
  const socket = join(dir, 'api.sock');
  const api = await TestApiServer.start({ unixSocket: socket, historySize: 50_000 });
  let ns: Awaited<ReturnType<typeof createNs>> | undefined;
  let daemon: BenchDaemon | undefined;
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  try {
    for (const n of cluster.nodes) api.create(n);
    for (const s of cluster.services) {
      api.create(s.service);
      api.create(s.slice);
    }
    ns = await createNs();
    bridge = await startBridge(ns.name, socket);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(api, { url: bridge.url }));
    o.log(`  nftables daemon: ${o.size} services x ${o.endpoints} endpoints in ${ns.name}`);
    daemon = BenchDaemon.start(
      ns.name,
      [`--kubeconfig=${kubeconfig}`, ...nftFlags(o.minSyncMs), '--healthz-bind-address=127.0.0.1:10256', `--metrics-bind-address=127.0.0.1:${METRICS_PORT}`, '--logging-format=json', '-v=2'],
      {},
    );
    const d = daemon;
    try {
      await d.until(() => d.syncs.length > 0, 'the first sync', o.firstSyncTimeoutMs);
    } catch (e) {
      throw new NftFirstSyncTimeout(`nftables first sync at ${o.size} services did not finish within ${Math.round(o.firstSyncTimeoutMs / 1000)} s (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    const first = d.syncs[0]!;
    const ip = nftInProcess();
    loadCluster(ip.store, cluster);
    const ipFull = await inProcessSync(ip, true);
    const heap = metricValue(await d.metrics(METRICS_PORT), 'nodejs_heap_size_used_bytes');
    const result: { -readonly [K in keyof NftDaemonSizeResult]: NftDaemonSizeResult[K] } = {
      services: o.size,
      endpointsPerService: o.endpoints,
      servicePorts: first.rec.servicePorts,
      firstSync: { ...numbers([first.rec]), spawnToSyncedMs: first.t - d.started, inProcessMs: ipFull.ms },
      rssBytes: d.rssBytes(),
      heapUsedBytes: heap,
    };
    const f = result.firstSync;
    o.log(`  nftables first sync ${f.ms} ms (kernel ${Math.round(f.kernelMs)} ms, dump ${Math.round(f.dumpMs)} ms, ${f.ops} ops, ${f.transactions} txn; in-process ${Math.round(ipFull.ms)} ms)`);

    const apply = (ops: readonly BenchOp[]): void => {
      for (const op of ops) {
        if (op.kind === 'upsert') api.upsert(op.obj);
        else api.delete(op.obj);
      }
    };

    const gen = new OpGenerator(cluster, o.seed + 1);
    const twin = new OpGenerator(cluster, o.seed + 1);
    const ops: Partial<Record<OpName, NftOpResult>> = {};
    for (const name of OP_NAMES) {
      const samples: (NftSyncNumbers & { syncs: number; full: boolean; ipMs: number; ipBytes: number })[] = [];
      for (let rep = 0; rep < o.reps; rep++) {
        // The burst's target is for one sync holding all of it (see observeChange); the twin
        // applies and syncs the same primer first, so that both measure the same sync.
        const primer = name === '100 endpoint changes' ? gen.endpointAdd() : undefined;
        const twinPrimer = primer ? twin.endpointAdd() : undefined;
        const g = gen.op(name);
        const r = await observeChange(d, o.minSyncMs, () => apply(g.ops), primer ? () => apply(primer.ops) : undefined);
        if (twinPrimer) {
          applyObjects(ip.store, twinPrimer.ops);
          await inProcessSync(ip, false);
        }
        applyObjects(ip.store, twin.op(name).ops);
        const m = await inProcessSync(ip, false);
        samples.push({ ...r, ipMs: m.ms, ipBytes: m.bytes });
      }
      const med = (k: keyof (typeof samples)[number]): number => median(samples.map((s) => Number(s[k])));
      ops[name] = {
        reps: samples.length,
        ms: med('ms'),
        kernelMs: med('kernelMs'),
        dumpMs: med('dumpMs'),
        bytes: med('bytes'),
        ops: med('ops'),
        transactions: med('transactions'),
        syncs: med('syncs'),
        full: samples.some((s) => s.full),
        inProcessMs: med('ipMs'),
        inProcessBytes: med('ipBytes'),
      };
      const x = ops[name]!;
      o.log(`  nftables ${name}: sync ${x.ms} ms (kernel ${x.kernelMs.toFixed(1)} ms) in ${x.syncs} sync(s), ${x.ops} ops, ${x.bytes} B; in-process ${x.inProcessMs.toFixed(1)} ms`);
    }
    result.ops = ops;
    result.rssAfterOpsBytes = d.rssBytes();

    if (o.latencyChanges > 0) {
      const lg = new OpGenerator(cluster, o.seed + 2);
      const lat: number[] = [];
      await waitQuiet(d, o.minSyncMs + 200);
      for (let k = 0; k < o.latencyChanges; k++) {
        const g = lg.endpointAdd();
        const before = d.syncs.length;
        const t0 = wallMs();
        apply(g.ops);
        // No other change is pending (the previous one has synced), so the first sync after the
        // write that rendered a changed service port is the one that programmed it.
        await d.until(() => d.syncs.slice(before).some((s) => s.t >= t0 && s.rec.changed > 0), 'the sync of a new endpoint', 60_000);
        const hit = d.syncs.slice(before).find((s) => s.t >= t0 && s.rec.changed > 0)!;
        lat.push(hit.t - t0);
        await sleep(Math.random() * 300);
      }
      result.latency = { changes: lat.length, minSyncMs: o.minSyncMs, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), max: Math.max(...lat) };
      o.log(`  nftables latency over ${lat.length} changes: p50 ${Math.round(result.latency.p50)} ms, p99 ${Math.round(result.latency.p99)} ms`);
    }
    return result;
  } finally {
    await daemon?.stop().catch(() => undefined);
    bridge?.stop();
    await ns?.destroy();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitQuiet(d: BenchDaemon, idleMs: number): Promise<void> {
  for (;;) {
    const last = d.syncs.at(-1)?.t ?? d.started;
    const idle = wallMs() - last;
    if (idle >= idleMs) return;
    await sleep(idleMs - idle + 5);
  }
}

/**
 * Apply one change when the daemon is idle, then add up every sync it caused.
 *
 * With `primer`: a burst of changes written to an idle daemon is split over two or more syncs (the
 * first event starts a sync at once, the last one being longer than min-sync-period ago, while the
 * rest are still on their way). So the primer change goes first; once its sync has logged, the
 * burst is written and waits for min-sync-period, which the runner keeps between sync starts, so
 * all of it lands in the next sync. Only the syncs after the primer's are counted; their
 * durations cover the syncs alone, not the wait.
 */
async function observeChange(d: BenchDaemon, minSyncMs: number, apply: () => void, primer?: () => void): Promise<NftSyncNumbers & { syncs: number; full: boolean }> {
  await waitQuiet(d, minSyncMs + 100);
  if (primer) {
    const primed = d.syncs.length;
    primer();
    await d.until(() => d.syncs.length > primed, 'the sync of the primer change', 120_000);
  }
  const before = d.syncs.length;
  apply();
  await d.until(() => d.syncs.length > before, 'a sync after the change', 120_000);
  await waitQuiet(d, minSyncMs + 300);
  const syncs: Timed<SyncLine>[] = d.syncs.slice(before);
  return { ...numbers(syncs.map((s) => s.rec)), syncs: syncs.length, full: syncs.some((s) => s.rec.full) };
}
