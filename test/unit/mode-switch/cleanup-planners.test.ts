// The pure halves of a mode switch: which modes' leftovers a daemon removes, what a cleanup
// payload removes from upstream kube-proxy's captured rules (../shared/fixtures/upstream-1.26),
// and the counts the daemon logs. The kernel half is test/e2e/mode-switch.test.ts.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildCleanupPayload, countCleanupPayload } from '../../../modes/iptables/cleanup.js';
import { parseSave } from '../../../modes/iptables/save-parse.js';
import { renderPortalsCleanup } from '../../../modes/userspace/portals.js';
import { modeUnavailable, otherModes, removedCounts } from '../../../proxy/mode-switch.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures/upstream-1.26');
const upstream = readFileSync(join(FIXTURE, 'iptables-save.txt'), 'utf8');

/** `table/chain` of every chain in an iptables-save text. */
function chainsOf(text: string): string[] {
  let table = '';
  const out: string[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    const m = /^:(\S+) - /.exec(l);
    if (m) out.push(`${table}/${m[1]}`);
  }
  return out.sort();
}

/** `table/chain` of every chain a payload deletes. */
function deletedChains(payload: string): string[] {
  let table = '';
  const out: string[] = [];
  for (const l of payload.split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    if (l.startsWith('-X ')) out.push(`${table}/${l.slice(3)}`);
  }
  return out.sort();
}

describe('mode switch: the other modes', () => {
  it('are every mode but the active one, and none for noop', () => {
    expect(otherModes('nftables')).toEqual(['iptables', 'ipvs', 'userspace']);
    expect(otherModes('userspace')).toEqual(['iptables', 'ipvs', 'nftables']);
    expect(otherModes('noop')).toEqual([]);
  });

  it('that this kernel cannot run are skipped without a warning; other errors are not', () => {
    expect(modeUnavailable('nftables', new Error('nf_tables family not found'))).toBe(true);
    expect(modeUnavailable('ipvs', new Error('IPVS not available'))).toBe(true);
    expect(modeUnavailable('iptables', new Error('ENOENT iptables-save'))).toBe(false);
    expect(modeUnavailable('nftables', new Error('EPERM'))).toBe(false);
  });
});

describe("iptables cleanup planner on upstream kube-proxy's captured rules", () => {
  it('deletes every chain upstream wrote and every jump to them, in one payload per table', () => {
    const payload = buildCleanupPayload(parseSave(upstream));
    expect(deletedChains(payload)).toEqual(chainsOf(upstream));
    const jumps = upstream.split('\n').filter((l) => /^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j KUBE-/.test(l));
    expect(jumps.length).toBe(12);
    expect(countCleanupPayload(payload)).toEqual({ chains: chainsOf(upstream).length, rules: jumps.length });
  });

  it('keeps foreign rules and chains, and an owned chain a foreign chain still jumps to', () => {
    const withForeign = upstream
      .replace('*nat\n', '*nat\n:FOREIGN - [0:0]\n')
      .replace(/\nCOMMIT\n(?![\s\S]*\*)/, '\n-A PREROUTING -s 198.18.79.0/24 -j FOREIGN\n-A FOREIGN -j KUBE-MARK-MASQ\nCOMMIT\n');
    expect(withForeign).toContain('-A FOREIGN -j KUBE-MARK-MASQ');
    const payload = buildCleanupPayload(parseSave(withForeign));
    expect(payload).not.toMatch(/FOREIGN/);
    expect(deletedChains(payload)).not.toContain('nat/KUBE-MARK-MASQ');
    expect(deletedChains(payload)).toContain('nat/KUBE-SERVICES');
  });

  it('is empty on a node without our rules', () => {
    expect(buildCleanupPayload(parseSave('*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n'))).toBe('');
    expect(countCleanupPayload('')).toEqual({ chains: 0, rules: 0 });
  });

  it('leaves upstream userspace-mode chains to the userspace cleanup, which removes them and their jumps', () => {
    const nat = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':KUBE-PORTALS-CONTAINER - [0:0]',
      ':KUBE-PORTALS-HOST - [0:0]',
      '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
      '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
      '-A KUBE-PORTALS-CONTAINER -d 198.19.0.10/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 40000',
      'COMMIT',
      '',
    ].join('\n');
    expect(buildCleanupPayload(parseSave(nat))).toBe('');
    const payload = renderPortalsCleanup(nat)!;
    expect(countCleanupPayload(payload)).toEqual({ chains: 2, rules: 2 });
  });
});

describe('cleanup counts for the log line', () => {
  it('keeps only what was removed, and says nothing when nothing was', () => {
    expect(removedCounts({ removed: { chains: 3, rules: 0 } })).toEqual({ chains: 3 });
    expect(removedCounts({ removed: { tables: 0 } })).toBeUndefined();
    expect(removedCounts(undefined)).toBeUndefined();
  });
});
