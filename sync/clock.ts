// Time as an injected dependency. Everything that waits or timestamps (the sync runner, the proxy
// health state) takes a Clock, so tests drive time by hand with FakeClock instead of sleeping.

/** Opaque handle returned by Clock.setTimeout; only meaningful to the clock that issued it. */
export type TimerHandle = object;

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock. Timers are unref'd so a pending resync never keeps a stopping process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * A manual clock for tests. Time only moves in advance()/tick(); timers fire in due order (ties in
 * creation order) with now() set to each timer's due time while it runs.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: this.nextId++, due: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** Number of timers not yet fired or cleared. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Due time of the earliest timer, if any. */
  nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  /** Move time forward synchronously, firing every timer that falls due (including new ones). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let t = this.takeDue(target); t; t = this.takeDue(target)) {
      this.current = t.due;
      t.fn();
    }
    this.current = target;
  }

  /**
   * Like advance(), but lets promise callbacks run after each timer fires and at the end, so async
   * work started by a timer (a sync) can finish and schedule its follow-up before time moves on.
   */
  async tick(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (let t = this.takeDue(target); t; t = this.takeDue(target)) {
      this.current = t.due;
      t.fn();
      await flushPromises();
    }
    this.current = target;
    await flushPromises();
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }

  private takeDue(target: number): FakeTimer | undefined {
    const t = this.earliest();
    if (!t || t.due > target) return undefined;
    this.timers = this.timers.filter((x) => x !== t);
    return t;
  }
}

/** Resolve after all currently queued promise callbacks (and the ones they queue) have run. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
