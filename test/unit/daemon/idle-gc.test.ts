// proxy/idle-gc.ts: one full GC once the daemon is quiet after work, never while syncs keep
// coming, at most every minIntervalMs, and not again for an idle daemon.

import { describe, expect, it } from 'vitest';
import { fullGcFunction, IdleCollector } from '../../../proxy/idle-gc.js';

function fakeClock() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return { id } as { unref?: () => unknown };
    },
    clearTimer: (t: { unref?: () => unknown }) => void timers.delete((t as unknown as { id: number }).id),
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
  };
}

describe('IdleCollector', () => {
  it('collects once, idleMs after the last activity; never during a burst; not again while idle', () => {
    const clock = fakeClock();
    let n = 0;
    const c = new IdleCollector({ idleMs: 1000, minIntervalMs: 10_000, collect: () => n++, ...clock });
    for (let i = 0; i < 20; i++) {
      c.noteActivity();
      clock.advance(500); // a sync every 0.5 s: never idle for 1 s
    }
    expect(n).toBe(0);
    clock.advance(600);
    expect(n).toBe(1);
    clock.advance(60_000);
    expect(n).toBe(1);
  });

  it('waits out minIntervalMs after a collection, then collects once for the activity since', () => {
    const clock = fakeClock();
    const at: number[] = [];
    const c = new IdleCollector({ idleMs: 1000, minIntervalMs: 10_000, collect: () => at.push(clock.now()), ...clock });
    c.noteActivity();
    clock.advance(1000);
    c.noteActivity();
    clock.advance(1000);
    clock.advance(30_000);
    expect(at).toEqual([1000, 11_000]);
  });

  it('does nothing after stop', () => {
    const clock = fakeClock();
    let n = 0;
    const c = new IdleCollector({ idleMs: 1000, minIntervalMs: 0, collect: () => n++, ...clock });
    c.noteActivity();
    c.stop();
    clock.advance(5000);
    c.noteActivity();
    clock.advance(5000);
    expect(n).toBe(0);
  });
});

describe('fullGcFunction', () => {
  it("returns V8's full GC without --expose-gc on the command line, and it frees unreachable memory", async () => {
    const gc = fullGcFunction();
    expect(gc).toBeTypeOf('function');
    const ref = new WeakRef(Array.from({ length: 10_000 }, (_, i) => ({ i })));
    // A WeakRef's target lives until the current job ends.
    await new Promise((r) => setImmediate(r));
    gc!();
    expect(ref.deref()).toBeUndefined();
  });
});
