// nftables mode against the real kernel in a throw-away network namespace: the dataplane commits
// over netlink, a second full sync finds nothing to repair (the dump decodes to what was
// rendered), one endpoint change is a few hundred bytes, and `nft --json list table` shows exactly
// the objects the model implies (no stale chain, set, element or map entry after a removal).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNftOptions } from '../../modes/nftables/options.js';
import { renderService } from '../../modes/nftables/render/service.js';
import { renderSkeleton } from '../../modes/nftables/render/skeleton.js';
import { deleteNamespaceSync } from '../e2e/harness/ns.js';
import { requireRoot } from '../e2e/harness/root.js';
import { config, node, NODE_IP } from '../unit/nftables-mode/fixtures.js';
import { scenario, UDP } from './nftables-scenario.js';
import { actualContents, diffContents, expectedContents, withClasses } from '../support/nft-model-match.js';

const NS = `itn${process.pid.toString(36)}`;
const AGENT = join(process.cwd(), 'dist/test/integration/nftables-agent.js');

interface StepOut {
  readonly step: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly stats?: Record<string, number>;
}

type NftJson = { nftables: Record<string, { name?: string; family?: string; elem?: unknown[] }>[] };

describe.skipIf(!requireRoot())('nftables mode on the real kernel', () => {
  let out: StepOut[] = [];
  const nft = (...args: string[]): string => execFileSync('ip', ['netns', 'exec', NS, 'nft', ...args], { encoding: 'utf8' });

  beforeAll(() => {
    if (!existsSync(AGENT)) throw new Error(`${AGENT} missing: build with npx tsc -p tsconfig.json first`);
    execFileSync('ip', ['netns', 'add', NS]);
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, AGENT], { encoding: 'utf8', timeout: 50_000 });
    out = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepOut);
    if (r.status !== 0) throw new Error(`agent exited ${r.status}: ${r.stderr}`);
  });
  afterAll(() => deleteNamespaceSync(NS));

  it('commits every step; a resync of an unchanged state sends nothing', () => {
    expect(out.map((s) => [s.step, s.ok, s.error ?? ''])).toEqual(scenario().map((s) => [s.name, true, '']));
    expect(out[0]!.stats!['ops']).toBeGreaterThan(100);
    expect(out[1]!.stats!['ops']).toBe(0);
    expect(out[4]!.stats!['ops']).toBe(0);
  });

  it('a full sync trusts its record while only our commits moved the generation, and dumps (and repairs) after anyone else commits', () => {
    const by = new Map(out.map((s) => [s.step, s.stats!]));
    // Both families' resyncs: no dump, nothing sent.
    for (const step of ['resync', 'final-resync', 'quiet-resync']) expect([step, by.get(step)!['dumps'], by.get(step)!['ops']]).toEqual([step, 0, 0]);
    expect(by.get('first')!['dumps']).toBe(2);
    // `nft flush chain` by another process: both tables dumped, the chain refilled.
    expect(by.get('tampered-resync')!['dumps']).toBe(2);
    expect(by.get('tampered-resync')!['ops']).toBeGreaterThan(0);
    expect(nft('list', 'chain', 'ip', 'kube-proxy', 'services')).toContain('vmap @service-ips');
  });

  it('one endpoint added: element ops only (and its new count class), under 1 KB to the kernel', () => {
    // Per family touched: the destination moves from its count class to the next (2 element ops),
    // the endpoint's slot element and its hairpin element; the class of the new count appears
    // (its set and its one rule) unless another service uses that count already.
    expect(out[2]!.stats!['ops']).toBe(6);
    expect(out[2]!.stats!['bytes']).toBeLessThan(2048); // issue #13: ≤ 2 KB
  });

  it('nft lists exactly what the model implies, in both families, with nothing of the removed service left', () => {
    const last = scenario().at(-1)!;
    for (const family of ['IPv4', 'IPv6'] as const) {
      const o = buildNftOptions({ config: config(), node: node(), family, nodeIPs: [NODE_IP], localAddresses: [NODE_IP] });
      const units = withClasses(family, [renderSkeleton(o), ...last.entries.map(([s, e]) => renderService(s, e, node(), o))]);
      const fam = family === 'IPv4' ? 'ip' : 'ip6';
      // Plain text must parse too (nft itself must be able to print every rule we write).
      const listed = nft('list', 'table', fam, 'kube-proxy');
      expect(listed).toContain('chain services');
      // Endpoint maps name their key (nft printed "type 0" for a plain integer key).
      expect(listed).not.toMatch(/\btype 0\b/);
      expect(listed).toContain(`typeof ${fam} daddr . meta l4proto . th dport . numgen random mod 65536 : ${fam} daddr . th dport`);
      expect(listed).toContain(`typeof meta l4proto . th dport . numgen random mod 65536 : ${fam} daddr . th dport`);
      // The class rules print as nft's own syntax for a concatenated key with a numgen field.
      expect(listed).toMatch(new RegExp(`${fam} daddr . meta l4proto . th dport @cluster-\\d+ dnat ${fam === 'ip' ? 'ip' : 'ip6'} to ${fam} daddr . meta l4proto . th dport . numgen random mod \\d+ map @cluster-endpoints`));
      const text = nft('--json', 'list', 'table', fam, 'kube-proxy');
      // Exact: every chain, set, element and map entry the model implies, and nothing else.
      expect(diffContents(expectedContents(units), actualContents(text)), fam).toEqual([]);
      const j = JSON.parse(text) as NftJson;
      const chains = j.nftables.flatMap((x) => (x['chain'] ? [x['chain'].name!] : [])).sort();
      const sets = j.nftables.flatMap((x) => (x['set'] ? [x['set'].name!] : x['map'] ? [x['map'].name!] : [])).sort();
      expect(chains).toEqual(units.flatMap((u) => u.chains.map((c) => c.name)).sort());
      expect(sets).toEqual(units.flatMap((u) => u.sets.map((s) => s.set.name)).sort());
      // Every shared map holds exactly the elements the service ports contribute.
      for (const x of j.nftables) {
        const s = x['set'] ?? x['map'];
        if (!s?.name) continue;
        const want = new Set(units.flatMap((u) => [...(u.shared.get(s.name!)?.keys() ?? [])]));
        const own = units.flatMap((u) => u.sets).find((v) => v.set.name === s.name);
        const expected = own && !own.shared ? own.elements.size : want.size;
        expect(s.elem?.length ?? 0, `${fam} ${s.name}`).toBe(expected);
      }
      expect(chains.some((c) => c.includes('ns/udp/'))).toBe(false);
      expect(JSON.stringify(j)).not.toContain('198.19.0.8');
    }
    void UDP;
  });
});
