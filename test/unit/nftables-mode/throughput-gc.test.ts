// A full nftables sync runs with V8's --optimize-for-size switched off (proxy/throughput-gc.ts):
// the switch is made once around the whole sync (both families, every transaction), put back
// afterwards even when the sync fails, never made in a process that does not optimize for size,
// and a partial sync runs as it is.

import { describe, expect, it } from 'vitest';
import { sizeOptimized } from '../../../proxy/memory-settings.js';
import { ThroughputGc } from '../../../proxy/throughput-gc.js';
import { FakeNftClient } from '../../fakes/nftables/fake-client.js';
import { changes, ep, harness, sp, state } from './fixtures.js';

function recorder(active = true): { gc: ThroughputGc; flags: string[] } {
  const flags: string[] = [];
  return { gc: new ThroughputGc({ active: () => active, setFlags: (f) => void flags.push(f) }), flags };
}

describe('ThroughputGc', () => {
  it('switches --optimize-for-size off for the run and back on after it', async () => {
    const { gc, flags } = recorder();
    const seen: string[][] = [];
    expect(await gc.during(async () => (seen.push([...flags]), 7))).toBe(7);
    expect(seen).toEqual([['--no-optimize-for-size']]);
    expect(flags).toEqual(['--no-optimize-for-size', '--optimize-for-size']);
  });

  it('switches once for nested and overlapping runs, back only when the last ends', async () => {
    const { gc, flags } = recorder();
    let release = (): void => undefined;
    const a = gc.during(() => new Promise<void>((r) => (release = r)));
    await gc.during(async () => gc.during(async () => undefined));
    expect(flags).toEqual(['--no-optimize-for-size']);
    release();
    await a;
    expect(flags).toEqual(['--no-optimize-for-size', '--optimize-for-size']);
  });

  it('puts the flag back when the run throws', async () => {
    const { gc, flags } = recorder();
    await expect(gc.during(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(flags).toEqual(['--no-optimize-for-size', '--optimize-for-size']);
  });

  it('changes nothing in a process that does not optimize for size', async () => {
    const { gc, flags } = recorder(false);
    await gc.during(async () => undefined);
    expect(flags).toEqual([]);
  });
});

describe('sizeOptimized', () => {
  it('the last of --optimize-for-size / --no-optimize-for-size wins, from the command line or set at run time', () => {
    expect(sizeOptimized([], undefined, [])).toBe(false);
    expect(sizeOptimized(['--optimize-for-size'], undefined, [])).toBe(true);
    expect(sizeOptimized(['--optimize_for_size'], undefined, [])).toBe(true);
    expect(sizeOptimized([], undefined, ['--optimize-for-size', '--semi-space-growth-factor=1'])).toBe(true);
    expect(sizeOptimized(['--optimize-for-size'], '--no-optimize-for-size', [])).toBe(false);
    expect(sizeOptimized(['--no-optimize-for-size'], undefined, [])).toBe(false);
  });
});

describe('nftables dataplane and ThroughputGc', () => {
  const web = sp('default', 'web');
  const v6 = sp('default', 'v6', { clusterIPs: ['2001:db8::10'] });

  it('runs full syncs, both families and every transaction, inside one switch; partial syncs outside', async () => {
    const { gc, flags } = recorder();
    const client = new FakeNftClient();
    const commitsSeen: string[] = [];
    const commit = client.commit.bind(client);
    client.commit = async (ops) => {
      commitsSeen.push(flags.at(-1) ?? 'none');
      return commit(ops);
    };
    const { dp } = harness({ client, families: ['IPv4', 'IPv6'], batchOps: 4, gc });
    const s1 = state([[web, [ep('198.18.1.1')]], [v6, [ep('2001:db8:1::5')]]]);
    // The first sync is full whatever the request says (no record yet).
    await dp.sync({ state: s1, changes: changes([web.key]), full: false });
    expect(commitsSeen.length).toBeGreaterThan(2);
    expect(new Set(commitsSeen)).toEqual(new Set(['--no-optimize-for-size']));
    expect(flags).toEqual(['--no-optimize-for-size', '--optimize-for-size']);

    commitsSeen.length = 0;
    await dp.sync({ state: state([[web, [ep('198.18.1.1'), ep('198.18.1.2')]], [v6, [ep('2001:db8:1::5')]]]), changes: changes([web.key]), full: false });
    expect(commitsSeen.length).toBeGreaterThan(0);
    expect(new Set(commitsSeen)).toEqual(new Set(['--optimize-for-size']));
    expect(flags).toHaveLength(2);

    await dp.sync({ state: s1, changes: changes([web.key]), full: true });
    expect(flags).toEqual(['--no-optimize-for-size', '--optimize-for-size', '--no-optimize-for-size', '--optimize-for-size']);
  });
});
