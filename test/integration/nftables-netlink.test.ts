// The real nf_tables netlink client against the kernel, inside a throw-away network namespace
// (the client runs in a child process there: test/support/nft-netns.ts). What the client
// commits must be what `nft` itself lists, and what it dumps must decode back to what was
// committed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../../modes/shared/exec.js';
import { NftCommitError } from '../../modes/nftables/netlink/errors.js';
import type { NftChain, NftElement, NftOp, NftRule, NftSet } from '../../modes/nftables/netlink/types.js';
import { isRoot } from '../e2e/harness/root.js';
import { deleteNamespaceSync } from '../e2e/harness/ns.js';
import { openNsNftClient, type NsNftClient } from '../support/nft-netns.js';
import { chains4, elements4, goldenOps, rules4, sets4 } from '../unit/nftables/golden-model.js';
import { readFileSync } from 'node:fs';

// Deliberately not "kpt...-": sweepStale() of the e2e harness must never take it for a leftover.
const NS = `itn${process.pid.toString(36)}`;
const fixture = JSON.parse(
  readFileSync(new URL('../unit/nftables/fixtures/golden.json', import.meta.url), 'utf8'),
) as { listing: string };

async function nft(...args: string[]): Promise<string> {
  const r = await exec(['ip', 'netns', 'exec', NS, 'nft', ...args]);
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const noHandle = <T extends { handle?: bigint }>(o: T): Omit<T, 'handle'> => {
  const { handle: _h, ...rest } = o;
  return rest;
};
const canonicalChain = (c: NftChain): NftChain => {
  if (c.base?.policy !== 'accept') return c;
  const { policy: _p, ...base } = c.base;
  return { ...c, base };
};
const byKey = (es: readonly NftElement[]): NftElement[] =>
  [...es].map(({ expiresMs: _e, ...rest }) => rest).sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));

const T = 'kptint';
const table = { family: 'ip' as const, name: T };
const chain = (name: string, extra: Partial<NftChain> = {}): NftChain => ({ family: 'ip', table: T, name, ...extra });
const accept = (chainName: string, comment?: string): NftRule => ({
  family: 'ip',
  table: T,
  chain: chainName,
  exprs: [{ type: 'counter' }, { type: 'verdict', verdict: { code: 'accept' } }],
  ...(comment ? { comment } : {}),
});
const u32be = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return new Uint8Array(b);
};

describe.skipIf(!isRoot())('nf_tables netlink client in a namespace', () => {
  let c: NsNftClient;

  beforeAll(async () => {
    deleteNamespaceSync(NS);
    expect((await exec(['ip', 'netns', 'add', NS])).code).toBe(0);
    c = await openNsNftClient(NS);
  });
  afterAll(async () => {
    await c?.close();
    deleteNamespaceSync(NS);
  });

  it('commits every expression kind, set and map kind in one batch; nft lists it as nft itself would', async () => {
    const ops = goldenOps();
    const res = await c.commit(ops);
    // Every added rule's handle came back with the echo.
    ops.forEach((op, i) => {
      if (op.op === 'add-rule') expect(typeof res.handles[i]).toBe('bigint');
      else expect(res.handles[i]).toBeUndefined();
    });
    expect(res.bytes).toBeGreaterThan(0);
    expect(res.kernelMs).toBeGreaterThan(0);
    // The same text nft printed after loading golden.nft itself — except the one map declared
    // with `typeof` there (its typeof userdata is not modeled: we list it by its raw key type).
    const ours = (await nft('list', 'ruleset')).split('\n');
    const theirs = fixture.listing.split('\n');
    const typeofLine = theirs.findIndex((l) => l.includes('typeof numgen random mod 2'));
    expect(typeofLine).toBeGreaterThan(0);
    expect(ours[typeofLine]).toBe('\t\ttype 0 : ipv4_addr . inet_service');
    expect(ours.filter((_, i) => i !== typeofLine)).toEqual(theirs.filter((_, i) => i !== typeofLine));
  });

  it('dumps the table back into the committed objects', async () => {
    const d = await c.dumpTable('ip', 'kptgold');
    expect(d).toBeDefined();
    if (!d) return;
    expect(noHandle(d.table)).toEqual({ family: 'ip', name: 'kptgold', comment: 'golden' });
    expect(d.chains.map(noHandle)).toEqual(chains4.map(canonicalChain));
    expect(d.sets.map(noHandle)).toEqual(Object.values(sets4));
    expect(d.rules.map(noHandle)).toEqual(rules4);
    for (const [k, s] of Object.entries(sets4)) {
      expect({ set: s.name, e: byKey(d.elements.get(s.name) ?? []) }).toEqual({
        set: s.name,
        e: byKey(elements4[k as keyof typeof sets4]),
      });
    }
    expect(await c.dumpTable('ip', 'no-such-table')).toBeUndefined();
  });

  it('nft --json shows the maps, elements and rule comments', async () => {
    const j = JSON.parse(await nft('--json', 'list', 'table', 'ip', 'kptgold')) as { nftables: Record<string, unknown>[] };
    const maps = j.nftables.filter((o) => 'map' in o).map((o) => o['map'] as { name: string; type: unknown; map: unknown; elem?: unknown[] });
    const dispatch = maps.find((m) => m.name === 'dispatch');
    expect(dispatch?.type).toEqual(['ipv4_addr', 'inet_proto', 'inet_service']);
    expect(dispatch?.map).toBe('verdict');
    expect(dispatch?.elem).toHaveLength(3);
    const rules = j.nftables.filter((o) => 'rule' in o).map((o) => o['rule'] as { chain: string; comment?: string });
    expect(rules.find((r) => r.chain === 'nat-pre')?.comment).toBe('dispatch');
  });

  it('replace keeps the handle, delete and flush remove exactly what they name', async () => {
    const s: NftSet = { family: 'ip', table: T, name: 'ports', keyType: 13, keyLen: 2 };
    const res = await c.commit([
      { op: 'add-table', table },
      { op: 'add-chain', chain: chain('a') },
      { op: 'add-chain', chain: chain('b', { comment: 'chain b' }) },
      { op: 'add-rule', rule: accept('a', 'one') },
      { op: 'add-rule', rule: accept('a', 'two') },
      { op: 'add-rule', rule: accept('b', 'three') },
      { op: 'add-set', set: s },
      { op: 'add-elements', set: s, elements: [80, 443, 8080].map((p) => ({ key: Uint8Array.from([p >> 8, p & 255]) })) },
    ]);
    const [h1, h2, h3] = [res.handles[3], res.handles[4], res.handles[5]] as bigint[];
    const rep = await c.commit([{ op: 'replace-rule', rule: { ...accept('a', 'two, replaced'), handle: h2 } }]);
    expect(rep.handles[0]).toBe(h2);
    await c.commit([
      { op: 'delete-rule', rule: { ...accept('a'), handle: h1 } },
      { op: 'delete-elements', set: s, elements: [{ key: Uint8Array.from([0, 80]) }] },
    ]);
    let d = await c.dumpTable('ip', T);
    expect(d?.rules.map((r) => [r.chain, r.comment, r.handle])).toEqual([
      ['a', 'two, replaced', h2],
      ['b', 'three', h3],
    ]);
    expect(d?.elements.get('ports')?.map((e) => Buffer.from(e.key).readUInt16BE(0)).sort((x, y) => x - y)).toEqual([443, 8080]);
    expect(d?.chains.find((x) => x.name === 'b')?.comment).toBe('chain b');

    await c.commit([
      { op: 'flush-chain', chain: chain('a') },
      { op: 'flush-set', set: s },
    ]);
    d = await c.dumpTable('ip', T);
    expect(d?.rules.map((r) => r.chain)).toEqual(['b']);
    expect(d?.elements.get('ports')).toEqual([]);

    await c.commit([
      { op: 'delete-set', set: s },
      { op: 'flush-chain', chain: chain('b') },
      { op: 'delete-chain', chain: chain('b') },
    ]);
    d = await c.dumpTable('ip', T);
    expect(d?.chains.map((x) => x.name)).toEqual(['a']);
    expect(d?.sets).toEqual([]);
  });

  it('a failing op names itself and nothing of the batch is applied', async () => {
    const before = await c.dumpTable('ip', T);
    const ops: NftOp[] = [
      { op: 'add-chain', chain: chain('new-one') },
      { op: 'add-rule', rule: accept('a', 'would be added') },
      { op: 'add-rule', rule: accept('missing', 'fails') },
      { op: 'add-rule', rule: accept('a', 'after the failure') },
    ];
    const err = await c.commit(ops).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NftCommitError);
    const ce = err as NftCommitError;
    expect(ce.opIndex).toBe(2);
    expect(ce.errno).toBe(2);
    expect(ce.message).toBe('add-rule ip kptint missing "fails": ENOENT');
    const after = await c.dumpTable('ip', T);
    expect(after?.chains.map(noHandle)).toEqual(before?.chains.map(noHandle));
    expect(after?.rules).toEqual(before?.rules);
  });

  it('splits a large element list over several messages and the kernel gets all of it', async () => {
    const s: NftSet = {
      family: 'ip',
      table: T,
      name: 'big',
      keyType: (7 << 12) | (12 << 6) | 13,
      keyLen: 12,
      data: { type: 'verdict', len: 0 },
    };
    const elements: NftElement[] = Array.from({ length: 6000 }, (_, i) => ({
      key: new Uint8Array([198, 19, i >> 8, i & 255, 6, 0, 0, 0, 0, 80, 0, 0]),
      verdict: { code: 'goto', chain: 'a' },
    }));
    const res = await c.commit([{ op: 'add-set', set: s }, { op: 'add-elements', set: s, elements }]);
    expect(res.bytes).toBeGreaterThan(65536); // more than one u16-sized element list
    const d = await c.dumpTable('ip', T);
    expect(d?.elements.get('big')).toHaveLength(6000);
    expect(d?.elements.get('big')?.every((e) => e.verdict?.code === 'goto' && e.verdict.chain === 'a')).toBe(true);
  });

  it('timeout sets: element timeouts and expirations, default timeout left out', async () => {
    const s: NftSet = { family: 'ip', table: T, name: 'aff', keyType: 7, keyLen: 4, timeout: true, timeoutMs: 600_000 };
    await c.commit([
      { op: 'add-set', set: s },
      {
        op: 'add-elements',
        set: s,
        elements: [
          { key: u32be(0xc6120001), timeoutMs: 60_000, comment: 'one minute' },
          { key: u32be(0xc6120002) },
        ],
      },
    ]);
    const d = await c.dumpTable('ip', T);
    expect(d?.sets.find((x) => x.name === 'aff')).toMatchObject({ timeout: true, timeoutMs: 600_000 });
    const es = byKey(d?.elements.get('aff') ?? []);
    expect(es).toEqual([{ key: u32be(0xc6120001), timeoutMs: 60_000, comment: 'one minute' }, { key: u32be(0xc6120002) }]);
    const raw = d?.elements.get('aff') ?? [];
    for (const e of raw) expect(e.expiresMs).toBeGreaterThan(0);
    expect(await nft('list', 'set', 'ip', T, 'aff')).toMatch(/198\.18\.0\.1 timeout 1m expires .* comment "one minute"/);
  });

  it('delete-table removes it; the next dump says it is gone', async () => {
    await c.commit([{ op: 'delete-table', table }]);
    expect(await c.dumpTable('ip', T)).toBeUndefined();
    await expect(c.commit([{ op: 'delete-table', table }])).rejects.toThrow('delete-table ip kptint: ENOENT');
  });
});
