// deepEqual decides whether a recomputed service port or endpoint list keeps its old object (and
// so whether the dataplane re-renders it): it must compare own keys only, and all of them.

import { describe, expect, it } from 'vitest';
import { deepEqual } from '../../../proxy/model/equal.js';

describe('deepEqual', () => {
  it('compares plain data structurally', () => {
    expect(deepEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(deepEqual({ a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'y' }] })).toBe(false);
    expect(deepEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual({}, [])).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
  });

  it('counts every own key on both sides, undefined values included', () => {
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(deepEqual({ a: undefined }, { a: undefined })).toBe(true);
  });

  it('ignores inherited enumerable keys, as Object.keys does', () => {
    const proto = { inherited: 1 };
    const a = Object.assign(Object.create(proto) as Record<string, unknown>, { own: 2 });
    expect(deepEqual(a, { own: 2 })).toBe(true);
    expect(deepEqual({ own: 2 }, a)).toBe(true);
    expect(deepEqual(a, { own: 2, inherited: 1 })).toBe(false);
    expect(deepEqual({ own: 2, inherited: 1 }, a)).toBe(false);
  });
});
