// /debug/memory: where the daemon's RSS is, as node and V8 see it. RSS that heap used does not
// explain sits in one of: V8's committed-but-free pages (heap spaces' size minus used), the young
// generation (new_space's size), large objects (large_object_space), memory outside the JS heap
// (external, arrayBuffers: child-process pipe and socket buffers) or the C heap (malloc arenas),
// which is what is left when the rest is subtracted. The memory bench reads it after the first sync
// and after churn (bench/daemon-bench.ts).

import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

export interface HeapSpaceReport {
  readonly size: number;
  readonly used: number;
  readonly available: number;
  readonly physical: number;
}

export interface MemoryReport {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** V8's own count of the heap pages that are resident. */
  readonly heapPhysical: number;
  /** V8's memory outside the heap spaces (its zone allocations, compiled code metadata, ...). */
  readonly mallocedMemory: number;
  readonly peakMallocedMemory: number;
  readonly spaces: Readonly<Record<string, HeapSpaceReport>>;
}

export function memoryReport(): MemoryReport {
  const m = process.memoryUsage();
  const h = getHeapStatistics();
  const spaces: Record<string, HeapSpaceReport> = {};
  for (const s of getHeapSpaceStatistics()) {
    spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, available: s.space_available_size, physical: s.physical_space_size };
  }
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    heapPhysical: h.total_physical_size,
    mallocedMemory: h.malloced_memory,
    peakMallocedMemory: h.peak_malloced_memory,
    spaces,
  };
}
