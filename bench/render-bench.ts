// In-process render benchmark (no kernel, no daemon): render + diff the whole model cold, then
// again after one endpoint change (warm: unchanged service ports reuse their cached chains).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateCluster } from './generate.js';
import { coldRenderBreakdown, applyObjects, inProcess, loadCluster, modeHarness, timedSync, wireCluster, type BenchOp, type InProcessMode } from './inprocess.js';
import { OpGenerator } from './ops.js';
import { median } from './stats.js';

export interface RenderResult {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly cold: {
    readonly snapshotMs: number;
    readonly renderMs: number;
    readonly payloadMs: number;
    /** createIptablesDataplane full sync (both families, fake runner) incl. snapshot. */
    readonly fullSyncMs: number;
    readonly bytes: number;
    readonly lines: number;
  };
  /** A full sync after one endpoint change: one port re-rendered, the whole payload rebuilt. */
  readonly warmFull: { readonly ms: number; readonly bytes: number; readonly lines: number };
  /** A partial sync after one endpoint change. */
  readonly warmPartial: { readonly ms: number; readonly bytes: number; readonly lines: number };
  readonly heapUsedBytes: number;
}

export async function runRenderBench(size: number, endpoints: number, seed: number, reps: number): Promise<RenderResult> {
  const c = generateCluster({ services: size, endpointsPerService: endpoints, seed });
  const breakdown = coldRenderBreakdown(c);
  const p = inProcess();
  loadCluster(p.store, c);
  const cold = await timedSync(p, true);
  const gen = new OpGenerator(c, seed + 5);
  const partial = [];
  const full = [];
  for (let i = 0; i < reps; i++) {
    applyObjects(p.store, gen.endpointReplace().ops);
    partial.push(await timedSync(p, false));
  }
  for (let i = 0; i < Math.max(1, Math.ceil(reps / 4)); i++) {
    applyObjects(p.store, gen.endpointReplace().ops);
    full.push(await timedSync(p, true));
  }
  const heapUsedBytes = process.memoryUsage().heapUsed;
  return {
    services: size,
    endpointsPerService: endpoints,
    cold: {
      snapshotMs: breakdown.snapshotMs,
      renderMs: breakdown.renderMs,
      payloadMs: breakdown.payloadMs,
      fullSyncMs: cold.ms,
      bytes: cold.bytes,
      lines: cold.lines,
    },
    warmFull: { ms: median(full.map((x) => x.ms)), bytes: median(full.map((x) => x.bytes)), lines: median(full.map((x) => x.lines)) },
    warmPartial: {
      ms: median(partial.map((x) => x.ms)),
      bytes: median(partial.map((x) => x.bytes)),
      lines: median(partial.map((x) => x.lines)),
    },
    heapUsedBytes,
  };
}

// ---- Every mode, every size (issue #18): own work per one-endpoint change, heap, full render ----

export interface ModeSizeResult {
  readonly mode: InProcessMode;
  readonly services: number;
  readonly endpointsPerService: number;
  /** Feeding every object to the model store (what the informers' initial lists cost it). */
  readonly loadMs: number;
  /** The first sync: snapshot of the whole model + full sync of every family + observers. */
  readonly fullMs: number;
  /**
   * heapUsed after load + first full sync, after a forced GC (retained), and before it, both
   * without `generatorBytes`: what the daemon would hold (its informer cache, as the store's
   * wire-form objects stand for it, the model, the dataplane, the code).
   */
  readonly heapAfterFullBytes: number;
  readonly heapAfterFullNoGcBytes: number;
  /**
   * The benchmark's own generated cluster (builder objects, endpoint specs), kept for the change
   * ops: not something the daemon holds. heapUsed of this process = heapAfterFullBytes + this.
   */
  readonly generatorBytes: number;
  /** One endpoint replaced: store event + snapshot + partial sync + observers, per change. */
  readonly oneChangeMs: number;
  readonly oneChangeSamples: readonly number[];
  /** The same, as CPU time of this process (user + system): what the change cost us, whatever else the machine ran. */
  readonly oneChangeCpuMs: number;
  readonly oneChangeCpuSamples: readonly number[];
  /** CPU time of the first sync. */
  readonly fullCpuMs: number;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/** One mode at one size, in this process (run it in a fresh process for a clean heap). */
export async function measureMode(mode: InProcessMode, size: number, endpoints: number, seed: number, reps: number): Promise<ModeSizeResult> {
  const heapNow = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const g0 = heapNow();
  const c = generateCluster({ services: size, endpointsPerService: endpoints, seed });
  // Measured before anything else exists, so what follows is the daemon's part alone.
  const generatorBytes = heapNow() - g0;
  const h = await modeHarness(mode);
  const wire = wireCluster(c);
  const t0 = performance.now();
  loadCluster(h.store, wire);
  const t1 = performance.now();
  const c1 = cpuMs();
  await h.sync('initial');
  const t2 = performance.now();
  const fullCpuMs = cpuMs() - c1;
  const heapAfterFullNoGcBytes = process.memoryUsage().heapUsed - generatorBytes;
  const heapAfterFullBytes = heapNow() - generatorBytes;
  const gen = new OpGenerator(c, seed + 5);
  const samples: number[] = [];
  const cpuSamples: number[] = [];
  // A few unmeasured changes first, so the JIT has compiled the partial path.
  const warmup = 3;
  for (let i = 0; i < reps + warmup; i++) {
    const ops: readonly BenchOp[] = gen.endpointReplace().ops;
    const s0 = performance.now();
    const sc = cpuMs();
    applyObjects(h.store, ops);
    await h.sync('request');
    const cpu = cpuMs() - sc;
    if (i >= warmup) {
      samples.push(performance.now() - s0);
      cpuSamples.push(cpu);
    }
  }
  await h.close();
  return {
    mode,
    services: size,
    endpointsPerService: endpoints,
    loadMs: t1 - t0,
    fullMs: t2 - t1,
    heapAfterFullBytes,
    heapAfterFullNoGcBytes,
    generatorBytes,
    oneChangeMs: median(samples),
    oneChangeSamples: samples,
    oneChangeCpuMs: median(cpuSamples),
    oneChangeCpuSamples: cpuSamples,
    fullCpuMs,
  };
}

/** Each (mode, size) in its own child process (with --expose-gc), one at a time. */
export async function runModeBench(opts: {
  readonly modes: readonly InProcessMode[];
  readonly sizes: readonly number[];
  readonly endpoints: number;
  readonly seed: number;
  readonly reps: number;
  readonly log: (m: string) => void;
}): Promise<{ results: ModeSizeResult[]; errors: string[] }> {
  const results: ModeSizeResult[] = [];
  const errors: string[] = [];
  for (const mode of opts.modes) {
    for (const size of opts.sizes) {
      opts.log(`modes: ${mode} at ${size} x ${opts.endpoints}`);
      try {
        const r = await child([mode, String(size), String(opts.endpoints), String(opts.seed), String(opts.reps)]);
        opts.log(`  full ${r.fullMs.toFixed(0)} ms, heap ${(r.heapAfterFullBytes / 2 ** 20).toFixed(0)} MiB (+ bench generator ${(r.generatorBytes / 2 ** 20).toFixed(0)} MiB), one change ${r.oneChangeMs.toFixed(3)} ms (cpu ${r.oneChangeCpuMs.toFixed(3)} ms)`);
        results.push(r);
      } catch (e) {
        errors.push(`modes ${mode} ${size}: ${e instanceof Error ? e.message : String(e)}`);
        opts.log(`  FAILED: ${String(e)}`);
      }
    }
  }
  return { results, errors };
}

const SELF = fileURLToPath(import.meta.url);

function child(args: string[]): Promise<ModeSizeResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=6144', SELF, '--child', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`child exited ${code}: ${out.slice(-500)}`));
      try {
        resolve(JSON.parse(last) as ModeSizeResult);
      } catch (e) {
        reject(new Error(`bad child output: ${last.slice(0, 200)} (${String(e)})`));
      }
    });
  });
}

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  const [mode, size, endpoints, seed, reps] = process.argv.slice(3);
  const r = await measureMode(mode as InProcessMode, Number(size), Number(endpoints), Number(seed), Number(reps));
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}
