import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../proxy/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['15m0s', 900_000],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['0', 0],
    ['0s', 0],
    ['1.5h', 5_400_000],
    ['1h2m3s', 3_723_000],
    ['-1s', -1000],
    ['500us', 0.5],
    ['500µs', 0.5],
    ['2000000ns', 2],
    ['.5s', 500],
  ])('%s -> %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'fast', '30', '1x', 's', '1h-2m', '--1s', '1.2.3s', ' '])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [30_000, '30s'],
    [90_000, '1m30s'],
    [900_000, '15m0s'],
    [3_600_000, '1h0m0s'],
    [86_400_000, '24h0m0s'],
    [250, '250ms'],
    [0, '0s'],
    [1500, '1.5s'],
    [0.5, '500µs'],
    [1.25, '1.25ms'],
    [-90_000, '-1m30s'],
    [3_723_400, '1h2m3.4s'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [0, 1, 999, 1000, 1001, 59_999, 60_000, 61_500, 3_599_999, 3_600_000, 90_061_001, 0.001, 12.5]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
