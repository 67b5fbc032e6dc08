// Gives the daemon, however it is started (`node dist/proxy/main.js`, the package's bin, the
// image's ENTRYPOINT), V8 heap settings for a small, flat RSS, in ONE process. main.ts imports this
// module first and calls applyRuntimeFlags() before the daemon's modules load, before the heap
// has grown.
//
// Why at run time and not by re-executing with the flags (what launcher.ts did until now): a
// supervising parent is a second node process, ~40 MiB RSS (the node binary's pages plus its own
// heap), more than anything the flags save. Measured at 1,000 services x 10 endpoints, iptables
// mode, the bin as a user starts it: supervisor + child 152-155 MB summed; one process with these
// flags set here 115-117 MB.
//
// Which flags work at run time (Node 20, V8 11.3; Node keeps V8's flags writable after start):
// - --optimize-for-size: V8 reads it at every GC (Heap::ShouldOptimizeForMemoryUsage): the
//   conservative heap growing factor, so dead EndpointSlices and rendered rules do not pile up in
//   old space between major GCs. Its start-up implication, a 1 MiB semi-space, is fixed when the
//   heap is created, so setting it here alone leaves the young generation growing to 32 MiB.
// - --semi-space-growth-factor=1: read whenever the young generation would grow, so it stays at
//   its initial 1 MiB semi-spaces: the same young generation --optimize-for-size gives at start.
// Not used: --max-semi-space-size (fixed at heap setup, no effect at run time) and
// --single-threaded-gc (set at run time V8 aborts: "Check failed: concurrent_marking_handle_").
//
// Starting a worker thread puts V8's flags back to the command line's (measured: with a module hook
// registered after them, the young generation grew to 32 MiB anyway); the daemon starts none, which
// is one reason client-node-slim.ts is not a hook.
//
// glibc's malloc settings (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) are read at exec only; the
// image sets them (Dockerfile) and so does the package's bin (bin/kube-proxy-ts), which also
// passes --optimize-for-size at start, leaving nothing to do here.

import { setFlagsFromString } from 'node:v8';

export interface RuntimeFlag {
  /** The flag as V8 takes it. */
  readonly flag: string;
  /** Flag names (as given on the command line) that make this one unnecessary or unwanted. */
  readonly unlessGiven: readonly string[];
}

export const RUNTIME_V8_FLAGS: readonly RuntimeFlag[] = [
  { flag: '--optimize-for-size', unlessGiven: ['--optimize-for-size', '--no-optimize-for-size'] },
  // A user's own semi-space size wins; --optimize-for-size at start already caps it at 1 MiB.
  { flag: '--semi-space-growth-factor=1', unlessGiven: ['--semi-space-growth-factor', '--max-semi-space-size', '--optimize-for-size'] },
];

/** `--max_semi_space_size=4` → `--max-semi-space-size` (V8 accepts both spellings). */
function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return (eq < 0 ? arg : arg.slice(0, eq)).replaceAll('_', '-');
}

/** Pure: the flags to set, given what node was started with (its execArgv and NODE_OPTIONS). */
export function runtimeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName));
  return RUNTIME_V8_FLAGS.filter((f) => !f.unlessGiven.some((n) => given.has(n))).map((f) => f.flag);
}

/**
 * Pure: whether --optimize-for-size is in effect, given the command line's flags (execArgv, then
 * NODE_OPTIONS) and those set at run time after them: the last of --optimize-for-size and
 * --no-optimize-for-size wins; V8's default is off.
 */
export function sizeOptimized(execArgv: readonly string[], nodeOptions: string | undefined, applied: readonly string[]): boolean {
  let on = false;
  for (const a of [...execArgv, ...(nodeOptions ?? '').split(/\s+/), ...applied]) {
    const n = flagName(a);
    if (n === '--optimize-for-size') on = true;
    else if (n === '--no-optimize-for-size' || n === '--nooptimize-for-size') on = false;
  }
  return on;
}

let applied: readonly string[] = [];

/** Whether this process runs with --optimize-for-size (given at start or set by applyRuntimeFlags). */
export function optimizingForSize(): boolean {
  return sizeOptimized(process.execArgv, process.env['NODE_OPTIONS'], applied);
}

/** Sets the flags this process lacks; main.ts calls it before anything else runs. Returns them. */
export function applyRuntimeFlags(): string[] {
  const flags = runtimeFlags(process.execArgv, process.env['NODE_OPTIONS']);
  for (const f of flags) setFlagsFromString(f);
  applied = flags;
  return flags;
}
