// Where the daemon's RSS is, sampled by the memory step (daemon-bench.ts) after the first sync and
// after the churn: the daemon's /debug/memory (process.memoryUsage() and V8's heap spaces) plus
// the kernel's view of its mappings (/proc/PID/smaps): file-backed pages (the node binary and
// libraries), the brk heap (glibc's main malloc arena) and other anonymous mappings (V8's heap
// pages, other malloc arenas, large malloc'd blocks served by mmap).

import { readFileSync } from 'node:fs';
import type { MemoryReport } from '../proxy/http/memory-report.js';

export interface SmapsSummary {
  readonly file: number;
  /** `[heap]`: glibc's main arena (brk). */
  readonly brk: number;
  /** Other anonymous mappings: V8's heap pages, glibc's other arenas, mmap'd malloc blocks. */
  readonly anon: number;
}

export interface MemoryBreakdown {
  readonly report: MemoryReport;
  readonly smaps: SmapsSummary;
}

export function smapsSummary(pid: number): SmapsSummary {
  let file = 0;
  let brk = 0;
  let anon = 0;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return { file: 0, brk: 0, anon: 0 };
  }
  let kind: 'file' | 'brk' | 'anon' = 'anon';
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const name = head[4] ?? '';
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const b = Number(rss[1]) * 1024;
    if (kind === 'file') file += b;
    else if (kind === 'brk') brk += b;
    else anon += b;
  }
  return { file, brk, anon };
}

const mib = (b: number): string => (b / (1 << 20)).toFixed(1);

/** One log line: the process totals, the heap spaces (used/size), then the mappings. */
export function formatBreakdown(b: MemoryBreakdown): string {
  const r = b.report;
  const spaces = Object.entries(r.spaces)
    .filter(([, s]) => s.size > 0)
    .map(([n, s]) => `${n.replace(/_space$/, '')} ${mib(s.used)}/${mib(s.size)}`)
    .join(', ');
  return (
    `rss ${mib(r.rss)} heapTotal ${mib(r.heapTotal)} heapUsed ${mib(r.heapUsed)} external ${mib(r.external)} arrayBuffers ${mib(r.arrayBuffers)} ` +
    `v8 malloced ${mib(r.mallocedMemory)} (peak ${mib(r.peakMallocedMemory)}) MiB; spaces used/size: ${spaces}; ` +
    `smaps: file ${mib(b.smaps.file)} brk ${mib(b.smaps.brk)} anon ${mib(b.smaps.anon)} MiB`
  );
}
