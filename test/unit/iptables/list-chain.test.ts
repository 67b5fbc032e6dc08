// Reading one chain (`iptables -t TABLE -S CHAIN`) instead of a whole table: the output parser
// and the words by which the tools say the chain does not exist.

import { describe, expect, it } from 'vitest';
import { chainMissing, commandName } from '../../../modes/iptables/exec/tools.js';
import { parseListedChain, parseSave } from '../../../modes/iptables/save-parse.js';

describe('parseListedChain', () => {
  it('reads a built-in chain: its policy and rules, normalized as parseSave normalizes them', () => {
    const listed = [
      '-P OUTPUT ACCEPT',
      '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
      '-A OUTPUT -m comment --comment "a \\"quoted\\" word" -j OTHER',
      '',
    ].join('\n');
    const saved = parseSave(`*nat\n:OUTPUT ACCEPT [0:0]\n${listed.split('\n').slice(1).join('\n')}COMMIT\n`).get('nat')!.get('OUTPUT');
    expect(parseListedChain(listed, 'OUTPUT')).toEqual(saved);
    expect(parseListedChain(listed, 'OUTPUT')).toMatchObject({ policy: 'ACCEPT', rules: [expect.stringContaining('-j KUBE-PORTALS-HOST'), expect.stringContaining('-j OTHER')] });
  });

  it('reads a user chain (policy "-"), also without rules, and ignores lines of other chains', () => {
    expect(parseListedChain('-N KUBE-NODEPORT-HOST\n-A KUBE-NODEPORT-HOST -p tcp -j DNAT --to-destination 127.0.0.1:40000\n-A OTHER -j ACCEPT\n', 'KUBE-NODEPORT-HOST')).toEqual({
      name: 'KUBE-NODEPORT-HOST',
      policy: '-',
      rules: ['-p tcp -j DNAT --to-destination 127.0.0.1:40000'],
    });
    expect(parseListedChain('-N KUBE-PORTALS-HOST\n', 'KUBE-PORTALS-HOST')).toEqual({ name: 'KUBE-PORTALS-HOST', policy: '-', rules: [] });
  });
});

describe('chainMissing', () => {
  it("takes legacy's and nft 1.8.9's words for a chain that does not exist, and nothing else", () => {
    expect(chainMissing('iptables: No chain/target/match by that name.\n', 'nat', 'KUBE-X')).toBe(true);
    expect(chainMissing("iptables v1.8.9 (nf_tables): chain `KUBE-X' in table `nat' is incompatible, use 'nft' tool.\n", 'nat', 'KUBE-X')).toBe(true);
    expect(chainMissing("iptables v1.8.9 (nf_tables): chain `OTHER' in table `nat' is incompatible, use 'nft' tool.\n", 'nat', 'KUBE-X')).toBe(false);
    expect(chainMissing('Another app is currently holding the xtables lock. Stopped waiting after 5s.\n', 'nat', 'KUBE-X')).toBe(false);
    expect(chainMissing('', 'nat', 'KUBE-X')).toBe(false);
  });

  it('names the plain command per backend and family', () => {
    expect(commandName('nft', 'IPv4')).toBe('iptables-nft');
    expect(commandName('legacy', 'IPv6')).toBe('ip6tables-legacy');
  });
});
