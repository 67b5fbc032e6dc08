import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE_EJECTION_MS, DEFAULT_MAX_EJECTION_MS, OutlierTracker } from '../../../modes/userspace/outliers.js';

function tracker(opts?: ConstructorParameters<typeof OutlierTracker>[1]): { o: OutlierTracker; clock: { now: number } } {
  const clock = { now: 50_000 };
  return { o: new OutlierTracker(() => clock.now, opts), clock };
}

describe('OutlierTracker', () => {
  it('ejects an endpoint that timed out for the base ejection time, then lets it back', () => {
    const { o, clock } = tracker();
    expect(o.isEjected('s', 'a')).toBe(false);
    expect(o.timedOut('s', 'a')).toBe(DEFAULT_BASE_EJECTION_MS);
    expect(o.isEjected('s', 'a')).toBe(true);
    expect(o.isEjected('s', 'b')).toBe(false);
    expect(o.isEjected('other', 'a')).toBe(false);
    clock.now += DEFAULT_BASE_EJECTION_MS - 1;
    expect(o.isEjected('s', 'a')).toBe(true);
    expect(o.ejected('s')).toEqual([{ endpoint: 'a', remainingMs: 1, ejections: 1 }]);
    clock.now += 1;
    expect(o.isEjected('s', 'a')).toBe(false);
    expect(o.ejected('s')).toEqual([]);
  });

  it('doubles the ejection each time the endpoint times out again after it, up to the cap', () => {
    const { o, clock } = tracker({ baseEjectionMs: 1000, maxEjectionMs: 5000 });
    const lengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      const ms = o.timedOut('s', 'a');
      lengths.push(ms);
      clock.now += ms;
    }
    expect(lengths).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('does not escalate for timeouts of dials that were already in flight while ejected', () => {
    const { o, clock } = tracker({ baseEjectionMs: 1000 });
    expect(o.timedOut('s', 'a')).toBe(1000);
    clock.now += 10;
    expect(o.timedOut('s', 'a')).toBe(0);
    expect(o.timedOut('s', 'a')).toBe(0);
    expect(o.ejected('s')).toEqual([{ endpoint: 'a', remainingMs: 990, ejections: 1 }]);
    clock.now += 990;
    expect(o.timedOut('s', 'a')).toBe(2000);
  });

  it('forgets an endpoint that connected, so its next timeout is a first one again', () => {
    const { o, clock } = tracker({ baseEjectionMs: 1000 });
    o.timedOut('s', 'a');
    clock.now += 1000;
    o.timedOut('s', 'a');
    o.connected('s', 'a');
    expect(o.isEjected('s', 'a')).toBe(false);
    expect(o.timedOut('s', 'a')).toBe(1000);
  });

  it('drops records of endpoints that left the service, and of removed services', () => {
    const { o } = tracker({ baseEjectionMs: 1000 });
    o.timedOut('s', 'a');
    o.timedOut('s', 'b');
    o.timedOut('t', 'a');
    o.retain('s', [{ id: 'b' }, { id: 'c' }]);
    expect(o.ejected('s').map((e) => e.endpoint)).toEqual(['b']);
    o.remove('t');
    expect(o.isEjected('t', 'a')).toBe(false);
    // A returning endpoint starts with a clean record.
    expect(o.timedOut('s', 'a')).toBe(1000);
  });

  it('keeps the cap no lower than the base', () => {
    const { o } = tracker({ baseEjectionMs: 8000, maxEjectionMs: 10 });
    expect(o.timedOut('s', 'a')).toBe(8000);
    expect(DEFAULT_MAX_EJECTION_MS).toBeGreaterThan(DEFAULT_BASE_EJECTION_MS);
  });
});
