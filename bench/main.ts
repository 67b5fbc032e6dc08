// Benchmark runner for issue "Performance at cluster scale" (not part of the test suite).
//
//   npm run build && npm run bench                      # daemon sizes 1,000 / 5,000 / 10,000 (iptables, then
//                                                       # nftables mode), and every mode in-process at
//                                                       # 1,000 / 10,000 / 50,000 (--only modes, --mode-sizes)
//   node dist/bench/main.js --quick                     # ~1 min smoke run at 1,000 services
//   node dist/bench/main.js --only render --sizes 10000 # one benchmark
//
// Options: --quick, --only <render|startup|sync|latency|memory|restore|nftables|userspace>[,...] (repeatable),
// --sizes 1000,5000,10000, --endpoints 10, --seed 1, --min-sync-period 1000 (ms),
// --reps N (single-change repetitions), --latency-changes N, --churn-changes N,
// --first-sync-timeout S (give up on a size, and larger ones, when its first sync takes longer).
// Writes bench/results/latest.json and latest.md and prints the Markdown report.
// Daemon benchmarks need root (network namespaces); they run only in kptb-* namespaces they create.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { FirstSyncTimeout, runDaemonBench, type DaemonSizeResult } from './daemon-bench.js';
import { NftFirstSyncTimeout, runNftDaemonBench, type NftDaemonSizeResult } from './nftables-daemon.js';
import { DIST_ROOT, REPO_ROOT } from './netns.js';
import { runModeBench, runRenderBench, type ModeSizeResult, type RenderResult } from './render-bench.js';
import { INPROCESS_MODES } from './inprocess.js';
import { renderMarkdown } from './report.js';
import { runUserspaceBench, type UserspaceBenchJson } from './userspace.js';

export const BENCHMARKS = ['render', 'modes', 'startup', 'sync', 'latency', 'memory', 'restore', 'nftables', 'userspace'] as const;
export type BenchName = (typeof BENCHMARKS)[number];

export interface BenchSettings {
  readonly quick: boolean;
  readonly only: readonly BenchName[];
  readonly sizes: readonly number[];
  readonly endpoints: number;
  readonly seed: number;
  readonly minSyncMs: number;
  readonly reps: number;
  readonly latencyChanges: number;
  readonly churnChanges: number;
  readonly renderSize: number;
  readonly firstSyncTimeoutMs: number;
  /** In-process per-mode benchmark sizes (issue #18: 1,000 / 10,000 / 50,000). */
  readonly modeSizes: readonly number[];
}

export interface BenchResults {
  readonly settings: BenchSettings;
  readonly environment: Readonly<Record<string, string | number>>;
  readonly startedAt: string;
  readonly elapsedSeconds: number;
  readonly render?: RenderResult;
  readonly daemon: readonly DaemonSizeResult[];
  /** nftables mode's daemon at the same sizes (bench/nftables-daemon.ts). */
  readonly nftables: readonly NftDaemonSizeResult[];
  readonly userspace?: UserspaceBenchJson;
  readonly modes?: readonly ModeSizeResult[];
  readonly skipped: readonly string[];
  readonly errors: readonly string[];
}

function parseArgs(argv: readonly string[]): BenchSettings {
  const get = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const [k, v] = eq > 0 ? [a.slice(2, eq), a.slice(eq + 1)] : a === '--quick' || a === '--help' ? [a.slice(2), 'true'] : [a.slice(2), argv[++i] ?? ''];
    get.set(k, [...(get.get(k) ?? []), v]);
  }
  if (get.has('help')) {
    process.stdout.write(`usage: node dist/bench/main.js [--quick] [--only ${BENCHMARKS.join('|')}] [--sizes 1000,5000,10000]\n` +
      '  [--endpoints 10] [--seed 1] [--min-sync-period 1000] [--reps 3] [--latency-changes 100] [--churn-changes 10000] [--first-sync-timeout 150]\n');
    process.exit(0);
  }
  const known = new Set(['mode-sizes', 'first-sync-timeout', 'quick', 'only', 'sizes', 'endpoints', 'seed', 'min-sync-period', 'reps', 'latency-changes', 'churn-changes']);
  for (const k of get.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}`);
  const num = (k: string, d: number): number => {
    const v = get.get(k)?.at(-1);
    if (v === undefined) return d;
    const n = Number(v.replace(/ms$/, ''));
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k}: not a number: ${v}`);
    return n;
  };
  const quick = get.has('quick');
  const only = (get.get('only') ?? []).flatMap((v) => v.split(',')).filter(Boolean);
  for (const o of only) if (!(BENCHMARKS as readonly string[]).includes(o)) throw new Error(`--only: unknown benchmark ${o} (${BENCHMARKS.join(', ')})`);
  const sizesArg = get.get('sizes')?.at(-1);
  const sizes = sizesArg ? sizesArg.split(',').map((s) => Number(s.trim())).filter((n) => n > 0) : quick ? [1000] : [1000, 5000, 10000];
  if (sizes.length === 0) throw new Error('--sizes: no sizes');
  return {
    quick,
    only: (only.length ? only : BENCHMARKS) as BenchName[],
    sizes,
    endpoints: num('endpoints', 10),
    seed: num('seed', 1),
    minSyncMs: num('min-sync-period', 1000),
    reps: num('reps', quick ? 1 : 3),
    latencyChanges: num('latency-changes', quick ? 20 : 100),
    churnChanges: num('churn-changes', quick ? 500 : 10_000),
    renderSize: quick ? Math.max(...sizes) : Math.max(10_000, ...sizes),
    firstSyncTimeoutMs: num('first-sync-timeout', quick ? 60 : 150) * 1000,
    modeSizes: (get.get('mode-sizes')?.at(-1)?.split(',').map(Number).filter((n) => n > 0)) ?? (quick ? [1000] : [1000, 10_000, 50_000]),
  };
}

function tool(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unavailable';
  }
}

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const log = (m: string): void => void process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${m}\n`);
  const want = (b: BenchName): boolean => s.only.includes(b);
  const environment = {
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    loadavgAtStart: loadavg().map((x) => x.toFixed(2)).join(' '),
    iptables: tool(['iptables-nft', '--version']),
    dist: DIST_ROOT,
  };
  const skipped: string[] = [];
  const errors: string[] = [];
  let render: RenderResult | undefined;
  const daemon: DaemonSizeResult[] = [];
  const nftables: NftDaemonSizeResult[] = [];

  if (want('render')) {
    log(`render: in-process render+diff at ${s.renderSize} x ${s.endpoints}`);
    try {
      render = await runRenderBench(s.renderSize, s.endpoints, s.seed, s.quick ? 5 : 20);
      log(`  cold full sync ${render.cold.fullSyncMs.toFixed(0)} ms; warm partial ${render.warmPartial.ms.toFixed(1)} ms`);
    } catch (e) {
      errors.push(`render: ${String(e)}`);
    }
  }

  const modes = want('modes') ? await modesStep(s, log, errors) : undefined;

  const daemonBenches: BenchName[] = ['startup', 'sync', 'latency', 'memory', 'restore'];
  if (daemonBenches.some(want)) {
    if (process.getuid?.() !== 0) {
      skipped.push('daemon benchmarks (startup, sync, latency, memory, restore): need root for network namespaces');
      log('NOT ROOT: skipping the daemon benchmarks');
    } else {
      const sizes = [...s.sizes].sort((a, b) => a - b);
      const largest = sizes.at(-1)!;
      const base = { endpoints: s.endpoints, seed: s.seed, minSyncMs: s.minSyncMs, reps: s.reps, firstSyncTimeoutMs: s.firstSyncTimeoutMs, log };
      let lastOk: number | undefined;
      let stoppedAt: number | undefined;
      for (const size of sizes) {
        log(`daemon benchmarks at ${size} services`);
        try {
          daemon.push(
            await runDaemonBench({
              ...base,
              size,
              latencyChanges: want('latency') && size === largest ? s.latencyChanges : 0,
              churnChanges: want('memory') && size === largest ? s.churnChanges : 0,
              runSync: want('sync'),
              runRestore: want('restore') || want('startup'),
            }),
          );
          lastOk = size;
        } catch (e) {
          errors.push(`daemon at ${size}: ${e instanceof Error ? e.message : String(e)}`);
          log(`  FAILED: ${e instanceof Error ? e.message : String(e)}`);
          if (e instanceof FirstSyncTimeout) {
            stoppedAt = size;
            const rest = sizes.filter((x) => x > size);
            if (rest.length) skipped.push(`sizes ${rest.join(', ')}: a smaller size already exceeded the first-sync budget`);
            break;
          }
        }
      }
      // Latency and memory belong to the largest size; if that never synced, use the largest that did.
      if (stoppedAt !== undefined && lastOk !== undefined && (want('latency') || want('memory'))) {
        log(`latency/memory at ${lastOk} services instead (${stoppedAt} did not finish its first sync)`);
        try {
          const extra = await runDaemonBench({
            ...base,
            size: lastOk,
            latencyChanges: want('latency') ? s.latencyChanges : 0,
            churnChanges: want('memory') ? s.churnChanges : 0,
            runSync: false,
            runRestore: false,
          });
          const i = daemon.findIndex((d) => d.services === lastOk);
          const merged = { ...daemon[i]!, ...(extra.latency ? { latency: extra.latency } : {}), ...(extra.memory ? { memory: extra.memory } : {}) };
          daemon[i] = merged;
        } catch (e) {
          errors.push(`latency/memory at ${lastOk}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }

  if (want('nftables')) {
    if (process.getuid?.() !== 0) {
      skipped.push('nftables daemon benchmark: needs root for network namespaces');
    } else {
      const sizes = [...s.sizes].sort((a, b) => a - b);
      for (const size of sizes) {
        log(`nftables daemon benchmark at ${size} services`);
        try {
          nftables.push(
            await runNftDaemonBench({
              size,
              endpoints: s.endpoints,
              seed: s.seed,
              minSyncMs: s.minSyncMs,
              reps: s.reps,
              latencyChanges: size === sizes.at(-1) ? s.latencyChanges : 0,
              firstSyncTimeoutMs: s.firstSyncTimeoutMs,
              log,
            }),
          );
        } catch (e) {
          errors.push(`nftables daemon at ${size}: ${e instanceof Error ? e.message : String(e)}`);
          log(`  FAILED: ${e instanceof Error ? e.message : String(e)}`);
          if (e instanceof NftFirstSyncTimeout) {
            const rest = sizes.filter((x) => x > size);
            if (rest.length) skipped.push(`nftables sizes ${rest.join(', ')}: a smaller size already exceeded the first-sync budget`);
            break;
          }
        }
      }
    }
  }

  let userspace: { markdown: string; json: UserspaceBenchJson } | undefined;
  if (want('userspace')) {
    log('userspace: direct vs this proxy vs HAProxy on loopback');
    try {
      userspace = await runUserspaceBench({ seconds: s.quick ? 1 : 2, rounds: s.quick ? 1 : 3 });
    } catch (e) {
      errors.push(`userspace: ${String(e)}`);
    }
  }

  const results: BenchResults = {
    settings: s,
    environment,
    startedAt: new Date(t0).toISOString(),
    elapsedSeconds: Math.round((Date.now() - t0) / 1000),
    ...(render ? { render } : {}),
    daemon,
    nftables,
    ...(userspace ? { userspace: userspace.json } : {}),
    ...(modes ? { modes } : {}),
    skipped,
    errors,
  };
  const md = renderMarkdown(results) + (userspace ? `\n## userspace mode\n\n${userspace.markdown}\n` : '');
  const outDir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(outDir, 'latest.md'), md);
  process.stdout.write(md);
  log(`wrote ${join(outDir, 'latest.json')} and latest.md`);
  if (errors.length) process.exitCode = 1;
}

/** Every mode in-process at each size, each in a child process (issue #18's own-work targets). */
async function modesStep(s: BenchSettings, log: (m: string) => void, errors: string[]): Promise<ModeSizeResult[]> {
  log(`modes: in-process, every mode at ${s.modeSizes.join(' / ')} x ${s.endpoints}`);
  const r = await runModeBench({ modes: INPROCESS_MODES, sizes: s.modeSizes, endpoints: s.endpoints, seed: s.seed, reps: s.quick ? 7 : 15, log });
  errors.push(...r.errors);
  return r.results;
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
