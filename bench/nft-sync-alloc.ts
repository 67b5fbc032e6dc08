// Allocation per partial nftables sync (issue #13): 10,000 services x 10 endpoints in this process
// on the encode-only client, one full sync, then repeated syncs of 100 endpoint changes each.
// The daemon runs with --optimize-for-size (1 MiB semi-spaces), so every MiB a sync allocates is
// roughly one scavenge; this prints bytes allocated, scavenges and CPU per sync (snapshot + sync),
// the same span the daemon logs as the sync duration.
//
//   node --optimize-for-size --expose-gc dist/bench/nft-sync-alloc.js [services] [syncs] [--profile]
//
// --profile adds a sampling heap profile over all the measured syncs, summed by function.

import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { generateCluster } from './generate.js';
import { applyObjects, loadCluster } from './inprocess.js';
import { nftInProcess } from './nftables-daemon.js';
import { OpGenerator } from './ops.js';
import { median } from './stats.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const args = process.argv.slice(2);
const profile = args.includes('--profile');
const [services = 10_000, syncs = 20] = args.filter((a) => !a.startsWith('--')).map(Number);

let scavenges = 0;
let scavengeMs = 0;
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
    scavenges++;
    scavengeMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const cluster = generateCluster({ services, endpointsPerService: 10, seed: 1 });
const p = nftInProcess();
loadCluster(p.store, cluster);
{
  const snap = p.store.snapshot();
  await p.dp.sync({ state: snap.state, changes: snap.changes, full: true });
}
const gen = new OpGenerator(cluster, 2);
const gc = (globalThis as { gc?: () => void }).gc;
const session = new Session();
session.connect();
const byFn = new Map<string, number>();

/** One sync of 100 endpoint changes; with `sample`, its allocations through the sampling heap profiler. */
async function measured(sample: boolean): Promise<{ bytes: number; scavenges: number; scavengeMs: number; cpuMs: number; wallMs: number; sent: number }> {
  applyObjects(p.store, gen.op('100 endpoint changes').ops);
  gc?.();
  await new Promise((r) => setTimeout(r, 20));
  p.client.bytes = 0;
  if (sample) await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const s0 = scavenges;
  const g0 = scavengeMs;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const snap = p.store.snapshot();
  await p.dp.sync({ state: snap.state, changes: snap.changes, full: false });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  let bytes = 0;
  if (sample) {
    const { profile: prof } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
    // A builtin (no script) is named with its caller: "Map.set" alone says nothing.
    const walk = (n: ProfileNode, parent: string): void => {
      const f = n.callFrame;
      const own = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
      const key = f.url === '' && parent !== '' ? `${f.functionName} <- ${parent}` : own;
      byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize);
      bytes += n.selfSize;
      for (const ch of n.children) walk(ch, f.url === '' ? parent : own);
    };
    walk(prof.head, '');
  }
  await new Promise((r) => setTimeout(r, 5)); // gc entries are delivered asynchronously
  return { bytes, scavenges: scavenges - s0, scavengeMs: scavengeMs - g0, cpuMs: (c.user + c.system) / 1000, wallMs: wall, sent: p.client.bytes };
}

// Warm-up (not counted), then the timed syncs, then the sampled ones (the profiler slows them).
for (let i = 0; i < 3; i++) await measured(false);
const timed = [];
for (let i = 0; i < syncs; i++) timed.push(await measured(false));
const sampled = [];
for (let i = 0; i < syncs; i++) sampled.push(await measured(true));
const med = <T>(rows: readonly T[], f: (r: T) => number): number => median(rows.map(f));
console.log(
  JSON.stringify({
    services,
    syncs,
    scavengesMedian: med(timed, (r) => r.scavenges),
    scavengesTotal: timed.reduce((a, r) => a + r.scavenges, 0),
    scavengeMsMedian: Math.round(med(timed, (r) => r.scavengeMs) * 10) / 10,
    cpuMsMedian: Math.round(med(timed, (r) => r.cpuMs) * 10) / 10,
    wallMsMedian: Math.round(med(timed, (r) => r.wallMs) * 10) / 10,
    sampledAllocatedKiBMedian: Math.round(med(sampled, (r) => r.bytes) / 1024),
    sentBytesMedian: med(timed, (r) => r.sent),
  }),
);
if (profile) {
  console.log('top self allocators per sync (sampled):');
  for (const [k, v] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, 40)) console.log(`  ${String(Math.round(v / syncs / 1024)).padStart(6)} KiB  ${k}`);
}
