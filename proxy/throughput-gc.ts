// A large sync builds hundreds of MiB of live objects (at 10,000 services: every rendered service
// port, the record of the table, the batches) in one burst. Under --optimize-for-size (the daemon's
// default: proxy/memory-settings.ts) V8 grows the old generation by ~10 % per full GC, so such a
// burst runs ~20 full mark-compacts of an ever larger heap: measured at 10,000 x 10 (nftables mode,
// in-process, both families), the full sync took 14.6 s with the flag and 5.0 s without, the heap
// afterwards 266 MiB and 291 MiB. For the duration of such a sync the flag is switched off (V8
// reads it at every GC, so this works at run time) and back on afterwards, when the idle daemon's
// memory reducer shrinks the heap again. The young generation stays as small as at start: its
// size is fixed when the heap is created.

import { setFlagsFromString } from 'node:v8';
import { optimizingForSize } from './memory-settings.js';

export interface ThroughputGcDeps {
  /** Whether --optimize-for-size is in effect (otherwise there is nothing to switch). */
  readonly active: () => boolean;
  readonly setFlags: (flags: string) => void;
}

const V8: ThroughputGcDeps = { active: optimizingForSize, setFlags: setFlagsFromString };

/** Runs `run` with V8's heap growing for throughput; nested and overlapping calls switch once. */
export class ThroughputGc {
  private depth = 0;
  private switched = false;

  constructor(private readonly deps: ThroughputGcDeps = V8) {}

  async during<T>(run: () => Promise<T>): Promise<T> {
    if (this.depth++ === 0 && this.deps.active()) {
      this.deps.setFlags('--no-optimize-for-size');
      this.switched = true;
    }
    try {
      return await run();
    } finally {
      if (--this.depth === 0 && this.switched) {
        this.deps.setFlags('--optimize-for-size');
        this.switched = false;
      }
    }
  }
}

/** The process-wide instance (V8's flags are process-wide). */
export const throughputGc = new ThroughputGc();
