// In-process render benchmark (no kernel, no daemon): render + diff the whole model cold, then
// again after one endpoint change (warm: unchanged service ports reuse their cached chains).

import { generateCluster } from './generate.js';
import { coldRenderBreakdown, applyObjects, inProcess, loadCluster, timedSync } from './inprocess.js';
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
