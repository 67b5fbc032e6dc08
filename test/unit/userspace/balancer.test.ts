import { describe, expect, it } from 'vitest';
import { LoadBalancer, clientAddress, type Target } from '../../../modes/userspace/balancer.js';
import { OutlierTracker } from '../../../modes/userspace/outliers.js';

const t = (n: number): Target => ({ id: `10.0.0.${n}:80`, host: `10.0.0.${n}`, port: 80 });
const NONE = { type: 'None' } as const;
const STICKY = { type: 'ClientIP', timeoutSeconds: 10 } as const;

function lb(): { lb: LoadBalancer; clock: { now: number } } {
  const clock = { now: 0 };
  return { lb: new LoadBalancer(() => clock.now), clock };
}

describe('LoadBalancer round robin', () => {
  it('cycles through endpoints in order', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2), t(3)], NONE);
    const picks = Array.from({ length: 6 }, () => b.next('s', '1.1.1.1')?.id);
    expect(picks).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  });

  it('returns undefined without endpoints or for unknown services', () => {
    const { lb: b } = lb();
    b.update('s', [], NONE);
    expect(b.next('s', '1.1.1.1')).toBeUndefined();
    expect(b.next('other', '1.1.1.1')).toBeUndefined();
  });

  it('skips excluded endpoints and gives up when all are excluded', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2), t(3)], NONE);
    expect(b.next('s', 'c', new Set(['10.0.0.1:80']))?.id).toBe('10.0.0.2:80');
    expect(b.next('s', 'c', new Set(['10.0.0.3:80']))?.id).toBe('10.0.0.1:80');
    expect(b.next('s', 'c', new Set([t(1).id, t(2).id, t(3).id]))).toBeUndefined();
  });

  it('keeps its position across an identical update', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2), t(3)], NONE);
    b.next('s', 'c');
    b.update('s', [t(1), t(2), t(3)], NONE);
    expect(b.next('s', 'c')?.id).toBe('10.0.0.2:80');
  });

  it('stops handing out removed endpoints', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2), t(3)], NONE);
    b.update('s', [t(1), t(3)], NONE);
    const picks = new Set(Array.from({ length: 4 }, () => b.next('s', 'c')?.id));
    expect(picks).toEqual(new Set(['10.0.0.1:80', '10.0.0.3:80']));
    b.remove('s');
    expect(b.next('s', 'c')).toBeUndefined();
  });
});

describe('LoadBalancer ClientIP affinity', () => {
  it('sticks a client to its endpoint while other clients rotate', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2), t(3)], STICKY);
    const first = b.next('s', 'a')?.id;
    expect(b.next('s', 'b')?.id).not.toBe(first);
    for (let i = 0; i < 5; i++) expect(b.next('s', 'a')?.id).toBe(first);
  });

  it('expires after timeoutSeconds of inactivity, not while in use', () => {
    const { lb: b, clock } = lb();
    b.update('s', [t(1), t(2)], STICKY);
    expect(b.next('s', 'a')?.id).toBe(t(1).id);
    // Activity every 9 s keeps the affinity alive well past the 10 s timeout.
    for (let i = 0; i < 3; i++) {
      clock.now += 9_000;
      expect(b.next('s', 'a')?.id).toBe(t(1).id);
    }
    clock.now += 10_000;
    expect(b.next('s', 'a')?.id).toBe(t(2).id);
  });

  it('drops the affinity when the endpoint disappears', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2), t(3)], STICKY);
    expect(b.next('s', 'a')?.id).toBe(t(1).id);
    b.update('s', [t(2), t(3)], STICKY);
    const moved = b.next('s', 'a')?.id;
    expect(moved).not.toBe(t(1).id);
    // Re-adding the old endpoint does not pull the client back.
    b.update('s', [t(1), t(2), t(3)], STICKY);
    expect(b.next('s', 'a')?.id).toBe(moved);
  });

  it('moves a client off its sticky endpoint when that one is excluded (retry)', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2)], STICKY);
    expect(b.next('s', 'a')?.id).toBe(t(1).id);
    expect(b.next('s', 'a', new Set([t(1).id]))?.id).toBe(t(2).id);
    expect(b.next('s', 'a')?.id).toBe(t(2).id);
  });

  it('forgets clients when affinity is switched off', () => {
    const { lb: b } = lb();
    b.update('s', [t(1), t(2)], STICKY);
    b.next('s', 'a');
    b.update('s', [t(1), t(2)], NONE);
    expect(new Set([b.next('s', 'a')?.id, b.next('s', 'a')?.id]).size).toBe(2);
  });
});

describe('clientAddress', () => {
  it('unwraps IPv4-mapped IPv6 addresses', () => {
    expect(clientAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress(undefined)).toBe('');
  });
});

describe('LoadBalancer with ejected endpoints', () => {
  function ejecting(): { lb: LoadBalancer; o: OutlierTracker; clock: { now: number } } {
    const clock = { now: 0 };
    const o = new OutlierTracker(() => clock.now, { baseEjectionMs: 5000 });
    return { lb: new LoadBalancer(() => clock.now, o), o, clock };
  }

  it('sends no new connection to an ejected endpoint until its ejection ends', () => {
    const { lb: b, o, clock } = ejecting();
    b.update('s', [t(1), t(2), t(3)], NONE);
    o.timedOut('s', t(2).id);
    const during = Array.from({ length: 6 }, () => b.next('s', 'c')?.id);
    expect(during).toEqual([t(1).id, t(3).id, t(1).id, t(3).id, t(1).id, t(3).id]);
    clock.now += 5000;
    const after = new Set(Array.from({ length: 3 }, () => b.next('s', 'c')?.id));
    expect(after).toEqual(new Set([t(1).id, t(2).id, t(3).id]));
  });

  it('only ejects for the service port whose dial timed out', () => {
    const { lb: b, o } = ejecting();
    b.update('s', [t(1), t(2)], NONE);
    b.update('u', [t(1), t(2)], NONE);
    o.timedOut('s', t(1).id);
    expect(new Set(Array.from({ length: 4 }, () => b.next('u', 'c')?.id))).toEqual(new Set([t(1).id, t(2).id]));
  });

  it('falls back to ejected endpoints when every endpoint is ejected, round robin', () => {
    const { lb: b, o } = ejecting();
    b.update('s', [t(1), t(2)], NONE);
    o.timedOut('s', t(1).id);
    o.timedOut('s', t(2).id);
    expect([b.next('s', 'c')?.id, b.next('s', 'c')?.id]).toEqual([t(1).id, t(2).id]);
  });

  it('prefers an ejected endpoint to one that already timed out for this connection', () => {
    const { lb: b, o } = ejecting();
    b.update('s', [t(1), t(2)], NONE);
    o.timedOut('s', t(1).id);
    // t(2) timed out for this very connection: t(1), ejected after an earlier timeout, is next.
    expect(b.next('s', 'c', undefined, new Set([t(2).id]))?.id).toBe(t(1).id);
    // Both timed out for this connection: either may be tried again with a longer timeout.
    expect(b.next('s', 'c', undefined, new Set([t(1).id, t(2).id]))).toBeDefined();
    // Refused ones never come back, ejected or not.
    expect(b.next('s', 'c', new Set([t(1).id, t(2).id]))).toBeUndefined();
  });

  it('moves a ClientIP affinity off an ejected endpoint and keeps it on the new one', () => {
    const { lb: b, o, clock } = ejecting();
    b.update('s', [t(1), t(2), t(3)], STICKY);
    expect(b.next('s', 'a')?.id).toBe(t(1).id);
    o.timedOut('s', t(1).id);
    const moved = b.next('s', 'a')?.id;
    expect(moved).not.toBe(t(1).id);
    // Pinned to the new endpoint, also after the old one's ejection ended.
    clock.now += 5000;
    for (let i = 0; i < 3; i++) expect(b.next('s', 'a')?.id).toBe(moved);
  });

  it('keeps a ClientIP affinity where it is when every endpoint is ejected', () => {
    const { lb: b, o } = ejecting();
    b.update('s', [t(1), t(2), t(3)], STICKY);
    b.next('s', 'x');
    expect(b.next('s', 'a')?.id).toBe(t(2).id);
    for (const n of [1, 2, 3]) o.timedOut('s', t(n).id);
    for (let i = 0; i < 3; i++) expect(b.next('s', 'a')?.id).toBe(t(2).id);
  });
});
