// Benchmarks of the real daemon (iptables mode, nft backend) in a private network namespace,
// against the test apiserver through the bridge. One daemon per cluster size:
//   startup  spawn → first full sync, split into our work / iptables-save / iptables-restore
//   sync     single changes (endpoint add/remove, service add/remove, 100 endpoint changes)
//   latency  apiserver write → restore containing the new KUBE-SEP chain has exited (kernel)
//   memory   VmRSS and heap after the initial sync and after N endpoint changes
//   restore  the bare iptables-restore of the daemon's own first payload in a fresh namespace

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestApiServer, kubeconfigFor } from '../test/apiserver/index.js';
import { generateCluster } from './generate.js';
import { applyObjects, coldRenderBreakdown, commonFlags, inProcess, loadCluster, timedSync, type BenchOp } from './inprocess.js';
import { formatBreakdown, smapsSummary, type MemoryBreakdown } from './memory-breakdown.js';
import { BenchDaemon, RestoreRecorder, createNs, metricValue, startBridge, type RestoreRecord } from './netns.js';
import { OP_NAMES, OpGenerator, type OpName } from './ops.js';
import { lineCount, median, percentile, sleep, wallMs } from './stats.js';

const METRICS_PORT = 10249;
const LEFTOVERS_DONE = 'looked for other modes leftovers';

export interface DaemonBenchOptions {
  readonly size: number;
  readonly endpoints: number;
  readonly seed: number;
  readonly minSyncMs: number;
  readonly reps: number;
  /** 0 skips the benchmark. */
  readonly latencyChanges: number;
  readonly churnChanges: number;
  readonly runSync: boolean;
  readonly runRestore: boolean;
  /** Give up on this size when the first sync takes longer (the run must stay bounded). */
  readonly firstSyncTimeoutMs: number;
  readonly log: (msg: string) => void;
}

export interface StartupResult {
  readonly spawnToFirstSyncMs: number;
  readonly listsToFirstSyncMs: number;
  /** The daemon's own durationMs of the first (full) sync. */
  readonly firstSyncMs: number;
  /** Time inside iptables-restore / iptables-save during the first sync (both families). */
  readonly restoreMs: number;
  readonly saveMs: number;
  readonly ourWorkMs: number;
  readonly payloadBytes: number;
  readonly payloadLines: number;
  /** iptables-restore runs of the first sync (a large sync is several transactions in one run; see modes/iptables/payload/pack.ts). */
  readonly restores: number;
  readonly inProcessFullSyncMs: number;
  /** VmRSS after the first sync, summed over the daemon's processes (one since the bin execs node; any node children would be summed). */
  readonly rssBytes: number;
  /** The same with the node binary's pages, shared by node processes of one tree, counted once. */
  readonly sharedOnceBytes: number;
  /** VmRSS of the process running the daemon (the newest node process). */
  readonly daemonRssBytes: number;
  readonly processes: number;
  readonly heapUsedBytes: number;
}

export interface OpResult {
  readonly reps: number;
  /** Medians over the repetitions. Sync values sum every sync the change caused. */
  readonly syncMs: number;
  readonly syncs: number;
  readonly full: boolean;
  readonly restoreMs: number;
  readonly restoreBytes: number;
  readonly restoreLines: number;
  /** The same change on the in-process dataplane (no kernel): our work and the payload. */
  readonly inProcessMs: number;
  readonly inProcessBytes: number;
  readonly inProcessLines: number;
}

export interface LatencyResult {
  readonly changes: number;
  readonly minSyncMs: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface MemoryResult {
  readonly changes: number;
  readonly rssInitial: number;
  readonly heapInitial: number;
  readonly rssAfter: number;
  readonly heapAfter: number;
  readonly rssMax: number;
  readonly rssChangePct: number;
  /** The same two samples with shared pages counted once, and the daemon process alone. */
  readonly sharedOnceInitial: number;
  readonly sharedOnceAfter: number;
  readonly daemonRssInitial: number;
  readonly daemonRssAfter: number;
  /** Full syncs during the churn and why each ran (e.g. "request" when the dataplane chose a full one). */
  readonly fullSyncs: number;
  readonly fullSyncReasons: readonly string[];
  /** Where the RSS is, before and after the churn (memory-breakdown.ts). */
  readonly breakdownInitial?: MemoryBreakdown;
  readonly breakdownAfter?: MemoryBreakdown;
}

export interface BareRestoreResult {
  /** The whole IPv4 ruleset as one plain `iptables-nft-restore` into an empty namespace. */
  readonly ms: number;
  /** The same with `--noflush` (what upstream runs), measured only where it finishes in time. */
  readonly noflushMs?: number;
  /**
   * A one-chain, one-rule --noflush restore into that loaded ruleset (median of 5): what any
   * transaction costs at this size, since the kernel re-validates every rule reachable from the
   * built-in chains on each commit. No partial sync can be faster.
   */
  readonly emptyTxnMs: number;
  readonly bytes: number;
  readonly lines: number;
  /** Daemon's first full sync / bare restore. */
  readonly ratio: number;
}

export interface DaemonSizeResult {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly servicePorts: number;
  readonly startup: StartupResult;
  readonly ops?: Partial<Record<OpName, OpResult>>;
  readonly latency?: LatencyResult;
  readonly memory?: MemoryResult;
  readonly bareRestore?: BareRestoreResult;
}

export class FirstSyncTimeout extends Error {}

const isRestore = (r: RestoreRecord): boolean => r.tool.endsWith('-restore');
const isSave = (r: RestoreRecord): boolean => r.tool.endsWith('-save');
const restoreMs = (rs: readonly RestoreRecord[]): number => rs.reduce((a, r) => a + (r.end - r.restoreStart), 0);

export async function runDaemonBench(o: DaemonBenchOptions): Promise<DaemonSizeResult> {
  const cluster = generateCluster({ services: o.size, endpointsPerService: o.endpoints, seed: o.seed });
  const dir = mkdtempSync(join(tmpdir(), 'kptb-'));
  const socket = join(dir, 'api.sock');
  const recorder = new RestoreRecorder(dir);
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
    o.log(`  daemon: ${o.size} services x ${o.endpoints} endpoints in ${ns.name}`);

    daemon = BenchDaemon.start(
      ns.name,
      [
        `--kubeconfig=${kubeconfig}`,
        ...commonFlags(o.minSyncMs),
        '--healthz-bind-address=127.0.0.1:10256',
        `--metrics-bind-address=127.0.0.1:${METRICS_PORT}`,
        '--logging-format=json',
        '-v=2',
      ],
      { PATH: `${recorder.binDir}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
    );
    const d = daemon;
    try {
      await d.until(() => d.syncs.length > 0, 'the first sync', o.firstSyncTimeoutMs);
    } catch (e) {
      const restoring = recorder.poll().filter((r) => isRestore(r));
      throw new FirstSyncTimeout(
        `first sync at ${o.size} services did not finish within ${Math.round(o.firstSyncTimeoutMs / 1000)} s ` +
          `(${restoring.length} restore(s) finished meanwhile; ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      );
    }
    const first = d.syncs[0]!;
    await sleep(300); // let the wrapper's log line land
    const recs = recorder.poll();
    const listsAt = d.marks.get('initial lists received; starting the sync loop') ?? d.started;
    const inSync = recs.filter((r) => r.start >= listsAt && r.end <= first.t + 5);
    const restores = inSync.filter(isRestore);
    let payloadLines = 0;
    for (const r of restores) payloadLines += lineCount(readFileSync(r.file, 'utf8'));
    recorder.drop(recs);
    const restoreTotal = restoreMs(restores);
    const saveTotal = restoreMs(inSync.filter(isSave));

    // The same full sync in-process (no kernel): our own work on this model.
    const ip = inProcess();
    loadCluster(ip.store, cluster);
    const ipFull = await timedSync(ip, true);

    const heap0 = metricValue(await d.metrics(METRICS_PORT), 'nodejs_heap_size_used_bytes');
    const mem0 = d.memory();
    o.log(`  after the first sync: RSS ${mb(mem0.rssTotal)} MiB over ${mem0.processes} process(es) (shared pages once ${mb(mem0.sharedOnceTotal)}, daemon process ${mb(mem0.daemonRss)}), heap used ${mb(heap0)} MiB`);
    const startup: StartupResult = {
      spawnToFirstSyncMs: first.t - d.started,
      listsToFirstSyncMs: first.t - listsAt,
      firstSyncMs: first.rec.durationMs,
      restoreMs: restoreTotal,
      saveMs: saveTotal,
      ourWorkMs: first.rec.durationMs - restoreTotal - saveTotal,
      payloadBytes: restores.reduce((a, r) => a + r.bytes, 0),
      payloadLines,
      restores: restores.length,
      inProcessFullSyncMs: ipFull.ms,
      rssBytes: mem0.rssTotal,
      sharedOnceBytes: mem0.sharedOnceTotal,
      daemonRssBytes: mem0.daemonRss,
      processes: mem0.processes,
      heapUsedBytes: heap0,
    };
    o.log(`  first sync ${first.rec.durationMs} ms (restore ${Math.round(restoreTotal)} ms, save ${Math.round(saveTotal)} ms), ${first.rec.servicePorts} service ports`);

    const result: { -readonly [K in keyof DaemonSizeResult]: DaemonSizeResult[K] } = {
      services: o.size,
      endpointsPerService: o.endpoints,
      servicePorts: first.rec.servicePorts,
      startup,
    };

    const apply = (ops: readonly BenchOp[]): void => {
      for (const op of ops) {
        if (op.kind === 'upsert') api.upsert(op.obj);
        else api.delete(op.obj);
      }
    };

    if (o.runSync) {
      const gen = new OpGenerator(cluster, o.seed + 1);
      const twin = new OpGenerator(cluster, o.seed + 1);
      const ops: Partial<Record<OpName, OpResult>> = {};
      for (const name of OP_NAMES) {
        const samples: Array<{ syncMs: number; syncs: number; full: boolean; restoreMs: number; bytes: number; lines: number; ipMs: number; ipBytes: number; ipLines: number }> = [];
        for (let rep = 0; rep < o.reps; rep++) {
          const g = gen.op(name);
          const r = await observeChange(d, recorder, o.minSyncMs, () => apply(g.ops));
          // The identical change in-process.
          applyObjects(ip.store, twin.op(name).ops);
          const m = await timedSync(ip, false);
          samples.push({ ...r, ipMs: m.ms, ipBytes: m.bytes, ipLines: m.lines });
        }
        ops[name] = {
          reps: samples.length,
          syncMs: median(samples.map((s) => s.syncMs)),
          syncs: median(samples.map((s) => s.syncs)),
          full: samples.some((s) => s.full),
          restoreMs: median(samples.map((s) => s.restoreMs)),
          restoreBytes: median(samples.map((s) => s.bytes)),
          restoreLines: median(samples.map((s) => s.lines)),
          inProcessMs: median(samples.map((s) => s.ipMs)),
          inProcessBytes: median(samples.map((s) => s.ipBytes)),
          inProcessLines: median(samples.map((s) => s.ipLines)),
        };
        o.log(`  ${name}: sync ${ops[name]!.syncMs} ms in ${ops[name]!.syncs} sync(s), restore ${Math.round(ops[name]!.restoreMs)} ms, ${ops[name]!.restoreBytes} B`);
      }
      result.ops = ops;
    }

    if (o.latencyChanges > 0) {
      const gen = new OpGenerator(cluster, o.seed + 2);
      const rnd = Math.random;
      const lat: number[] = [];
      await waitQuiet(d, o.minSyncMs + 200);
      for (let k = 0; k < o.latencyChanges; k++) {
        const g = gen.endpointAdd();
        const chain = g.expectChain!;
        const t0 = wallMs();
        apply(g.ops);
        const t1 = await waitForChain(recorder, chain, 60_000);
        lat.push(t1 - t0);
        await sleep(rnd() * 300);
      }
      result.latency = {
        changes: lat.length,
        minSyncMs: o.minSyncMs,
        p50: percentile(lat, 50),
        p90: percentile(lat, 90),
        p99: percentile(lat, 99),
        max: Math.max(...lat),
      };
      o.log(`  latency over ${lat.length} changes: p50 ${Math.round(result.latency.p50)} ms, p99 ${Math.round(result.latency.p99)} ms`);
    }

    if (o.churnChanges > 0) {
      // The other modes' leftover cleanup runs beside the first syncs (proxy/mode-switch.ts): the
      // "before" sample is taken once it is done and the daemon had its idle time (idle-gc.ts).
      await d.until(() => d.marks.has(LEFTOVERS_DONE), 'the leftover cleanup', 300_000);
      await waitQuiet(d, o.minSyncMs + 300);
      await sleep(Math.max(0, (d.marks.get(LEFTOVERS_DONE) ?? 0) + 2000 - wallMs()));
      const m0 = d.memory();
      const rssInitial = m0.rssTotal;
      const heapInitial = metricValue(await d.metrics(METRICS_PORT), 'nodejs_heap_size_used_bytes');
      const syncs0 = d.syncs.length;
      const breakdownInitial = await breakdown(d);
      if (breakdownInitial) o.log(`  before churn: ${formatBreakdown(breakdownInitial)}`);
      await probeHeap(d, 'before churn', o.log);
      const gen = new OpGenerator(cluster, o.seed + 3);
      let rssMax = rssInitial;
      let lastApply = wallMs();
      const batch = 100;
      for (let done = 0; done < o.churnChanges; done += batch) {
        for (let k = 0; k < Math.min(batch, o.churnChanges - done); k++) apply(gen.endpointReplace().ops);
        lastApply = wallMs();
        await sleep(100);
        rssMax = Math.max(rssMax, d.rssBytes());
        recorder.drop(recorder.poll());
      }
      // A sync of a few hundred changed services can outlast the quiet wait under load: the
      // "after" sample must not land in one (its payload in memory), so first wait for a sync
      // that began after the last change was applied (the log line's time minus its duration).
      await d.until(() => d.syncs.some((x) => x.t - x.rec.durationMs >= lastApply), 'a sync that began after the last change', 300_000);
      await waitQuiet(d, o.minSyncMs + 500);
      recorder.drop(recorder.poll());
      await sleep(1000);
      // The daemon's idle collection (proxy/idle-gc.ts) starts 1 s after the last sync and V8
      // then sweeps and unmaps freed pages on its helper threads, which takes seconds on a loaded
      // 2-core node: this early sample can land before that, so it is logged, and the one kept is
      // taken once the daemon has been quiet for 10 s (nothing is done to it meanwhile).
      const early = await breakdown(d);
      if (early) o.log(`  after churn, 2.5 s quiet: ${formatBreakdown(early)}`);
      await waitQuiet(d, 10_000);
      const m1 = d.memory();
      const rssAfter = m1.rssTotal;
      const heapAfter = metricValue(await d.metrics(METRICS_PORT), 'nodejs_heap_size_used_bytes');
      const churnSyncs = d.syncs.slice(syncs0);
      const fulls = churnSyncs.filter((x) => x.rec.full);
      o.log(`  churn: ${churnSyncs.length} syncs (${fulls.length} full${fulls.length ? `: reason ${fulls.map((x) => x.rec.reason ?? '?').join(', ')}` : ''})`);
      const breakdownAfter = await breakdown(d);
      if (breakdownAfter) o.log(`  after churn, 10 s quiet: ${formatBreakdown(breakdownAfter)}`);
      await probeHeap(d, 'after churn', o.log);
      result.memory = {
        changes: o.churnChanges,
        rssInitial,
        heapInitial,
        rssAfter,
        heapAfter,
        rssMax: Math.max(rssMax, rssAfter),
        rssChangePct: ((rssAfter - rssInitial) / rssInitial) * 100,
        sharedOnceInitial: m0.sharedOnceTotal,
        sharedOnceAfter: m1.sharedOnceTotal,
        daemonRssInitial: m0.daemonRss,
        daemonRssAfter: m1.daemonRss,
        fullSyncs: fulls.length,
        fullSyncReasons: fulls.map((x) => x.rec.reason ?? '?'),
        ...(breakdownInitial ? { breakdownInitial } : {}),
        ...(breakdownAfter ? { breakdownAfter } : {}),
      };
      o.log(`  memory: RSS ${mb(rssInitial)} → ${mb(rssAfter)} MiB (max ${mb(result.memory.rssMax)}), heap ${mb(heapInitial)} → ${mb(heapAfter)} MiB`);
    }

    await daemon.stop();
    daemon = undefined;
    bridge.stop();
    bridge = undefined;
    await ns.destroy();
    ns = undefined;

    if (o.runRestore) {
      // The ruleset the daemon converged to, as the single transaction upstream would restore.
      const { payload } = coldRenderBreakdown(cluster);
      const bare = await bareRestore(payload, false);
      const noflush = o.size <= NOFLUSH_REFERENCE_MAX ? await bareRestore(payload, true) : undefined;
      result.bareRestore = { ...bare, ...(noflush ? { noflushMs: noflush.ms } : {}), ratio: startup.firstSyncMs / bare.ms };
      o.log(`  bare iptables-restore of the whole ruleset: ${Math.round(bare.ms)} ms${noflush ? `, --noflush ${Math.round(noflush.ms)} ms` : ''} (daemon/bare = ${result.bareRestore.ratio.toFixed(2)}); one-rule transaction on it: ${bare.emptyTxnMs.toFixed(1)} ms`);
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

/**
 * Investigation aid, off unless KPTB_HEAP_PROBE=1: logs the daemon's heap spaces (from /metrics)
 * and, with KPTB_DAEMON_NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2, has it write a heap snapshot
 * (after the measurement it would disturb).
 */
async function probeHeap(d: BenchDaemon, when: string, log: (msg: string) => void): Promise<void> {
  // KPTB_PAUSE_S=N: the daemon is left alone N s after each probe point, e.g. to attach gdb and
  // ask glibc (malloc_info, malloc_trim) what its arenas hold.
  const pause = Number(process.env['KPTB_PAUSE_S'] ?? 0);
  if (pause > 0) {
    log(`  ${when}: pausing ${pause} s; daemon pid ${d.memoryPid()}`);
    await sleep(pause * 1000);
  }
  if (process.env['KPTB_HEAP_PROBE'] !== '1') return;
  const text = await d.metrics(METRICS_PORT);
  const spaces = text
    .split('\n')
    .filter((l) => l.startsWith('nodejs_heap_space_size_used_bytes'))
    .map((l) => `${/space="([^"]+)"/.exec(l)?.[1] ?? '?'} ${mb(Number(l.split(' ').at(-1)))}`);
  const ext = metricValue(text, 'nodejs_external_memory_bytes');
  const total = metricValue(text, 'nodejs_heap_size_total_bytes');
  const pid = d.memoryPid();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  const running = children.map((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').join(' ').trim());
  log(`  heap ${when}: ${spaces.join(', ')} MiB; heap committed ${mb(total)} MiB; external ${mb(ext)} MiB; RSS ${mb(d.rssBytes())} MiB (peak ${mb(hwm)}); running: ${running.join('; ') || 'nothing'}`);
  if ((process.env['KPTB_DAEMON_NODE_OPTIONS'] ?? '').includes('--heapsnapshot-signal=SIGUSR2')) {
    process.kill(d.memoryPid(), 'SIGUSR2');
    await sleep(20_000);
  }
}

/** The daemon's /debug/memory and its mappings; undefined if the daemon does not serve it. */
async function breakdown(d: BenchDaemon): Promise<MemoryBreakdown | undefined> {
  try {
    const report = JSON.parse(await d.get(METRICS_PORT, '/debug/memory')) as MemoryBreakdown['report'];
    return { report, smaps: smapsSummary(d.memoryPid()) };
  } catch {
    return undefined;
  }
}

const mb = (b: number): string => (b / (1 << 20)).toFixed(0);

/** Wait until no sync has completed for `idleMs`. */
async function waitQuiet(d: BenchDaemon, idleMs: number): Promise<void> {
  for (;;) {
    const last = d.syncs.at(-1)?.t ?? d.started;
    const idle = wallMs() - last;
    if (idle >= idleMs) return;
    await sleep(idleMs - idle + 5);
  }
}

/** Apply one change when the daemon is idle, then collect every sync it caused. */
async function observeChange(
  d: BenchDaemon,
  recorder: RestoreRecorder,
  minSyncMs: number,
  apply: () => void,
): Promise<{ syncMs: number; syncs: number; full: boolean; restoreMs: number; bytes: number; lines: number }> {
  await waitQuiet(d, minSyncMs + 100);
  recorder.drop(recorder.poll());
  const before = d.syncs.length;
  const t0 = wallMs();
  apply();
  await d.until(() => d.syncs.length > before, 'a sync after the change', 120_000);
  await waitQuiet(d, minSyncMs + 300);
  const syncs = d.syncs.slice(before).map((s) => s.rec);
  const recs = recorder.poll().filter((r) => r.start >= t0 && isRestore(r));
  let lines = 0;
  for (const r of recs) lines += lineCount(readFileSync(r.file, 'utf8'));
  recorder.drop(recs);
  return {
    syncMs: syncs.reduce((a, s) => a + s.durationMs, 0),
    syncs: syncs.length,
    full: syncs.some((s) => s.full),
    restoreMs: restoreMs(recs),
    bytes: recs.reduce((a, r) => a + r.bytes, 0),
    lines,
  };
}

/** Wall-clock ms at which a restore whose payload creates `chain` exited successfully. */
async function waitForChain(recorder: RestoreRecorder, chain: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const needle = `:${chain} `;
  for (;;) {
    const recs = recorder.poll();
    let hit: number | undefined;
    for (const r of recs) {
      if (hit === undefined && isRestore(r) && r.rc === 0 && readFileSync(r.file, 'utf8').includes(needle)) hit = r.end;
    }
    recorder.drop(recs);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) throw new Error(`${chain} never appeared in a restore within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** One --noflush transaction of the whole ruleset is quadratic in chains: minutes past this. */
const NOFLUSH_REFERENCE_MAX = 2000;

const PROBE = '*nat\n:KPTB-PROBE - [0:0]\n-A KPTB-PROBE -s 198.18.255.1/32 -j RETURN\nCOMMIT\n';
const UNPROBE = '*nat\n:KPTB-PROBE - [0:0]\n-X KPTB-PROBE\nCOMMIT\n';

/** Time `iptables-nft-restore [--noflush]` of `payload` in a fresh namespace, then the per-transaction floor. */
export async function bareRestore(payload: string, noflush: boolean): Promise<{ ms: number; emptyTxnMs: number; bytes: number; lines: number }> {
  const ns = await createNs();
  try {
    const t0 = wallMs();
    const r = await ns.exec(['iptables-nft-restore', ...(noflush ? ['--noflush'] : []), '-w', '5'], payload);
    const ms = wallMs() - t0;
    if (r.code !== 0) throw new Error(`bare iptables-nft-restore failed: ${r.stderr.trim()}`);
    const probes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p0 = wallMs();
      const p = await ns.exec(['iptables-nft-restore', '--noflush', '-w', '5'], PROBE);
      probes.push(wallMs() - p0);
      if (p.code !== 0) throw new Error(`probe restore failed: ${p.stderr.trim()}`);
      await ns.exec(['iptables-nft-restore', '--noflush', '-w', '5'], UNPROBE);
    }
    return { ms, emptyTxnMs: median(probes), bytes: Buffer.byteLength(payload), lines: lineCount(payload) };
  } finally {
    await ns.destroy();
  }
}
