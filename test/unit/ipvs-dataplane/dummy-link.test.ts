import { describe, expect, it } from 'vitest';
import { createDummyLink, diffAddresses, parseIpAddrJson, renderAddressBatch } from '../../../modes/ipvs/dummy-link.js';
import { applySysctls, ipvsSysctls } from '../../../modes/ipvs/sysctls.js';
import type { Exec } from '../../../modes/shared/exec.js';

describe('kube-ipvs0', () => {
  it('diffs addresses and renders an ip -batch with host prefixes', () => {
    const d = diffAddresses(new Set(['10.0.0.1', 'fd00::1']), ['10.0.0.9', '10.0.0.1']);
    expect(d).toEqual({ add: ['fd00::1'], remove: ['10.0.0.9'] });
    expect(renderAddressBatch(d.add, d.remove)).toBe('address del 10.0.0.9/32 dev kube-ipvs0\naddress add fd00::1/128 dev kube-ipvs0\n');
  });

  it('parses ip -j addr, skipping link-local', () => {
    const json = JSON.stringify([{ ifname: 'kube-ipvs0', addr_info: [{ family: 'inet', local: '10.0.0.1', prefixlen: 32, scope: 'global' }, { family: 'inet6', local: 'fe80::1', scope: 'link' }] }]);
    expect(parseIpAddrJson(json)).toEqual(['10.0.0.1']);
  });

  it('runs ip with argument vectors, naming only kube-ipvs0', async () => {
    const calls: { argv: readonly string[]; input?: string }[] = [];
    let exists = false;
    const run: Exec = async (argv, o) => {
      calls.push({ argv, input: o?.input });
      if (argv[1] === 'link' && argv[2] === 'show') return { code: exists ? 0 : 1, stdout: '', stderr: '' };
      if (argv[1] === 'link' && argv[2] === 'add') exists = true;
      return { code: 0, stdout: '[]', stderr: '' };
    };
    const link = createDummyLink(run);
    await link.ensure();
    await link.apply(['10.0.0.1'], []);
    await link.apply([], []);
    await link.remove();
    expect(calls.map((c) => c.argv.join(' '))).toEqual([
      'ip link show dev kube-ipvs0',
      'ip link add kube-ipvs0 type dummy',
      'ip -batch -',
      'ip link show dev kube-ipvs0',
      'ip link del kube-ipvs0',
    ]);
    expect(calls[2]!.input).toBe('address add 10.0.0.1/32 dev kube-ipvs0\n');
  });

  it('sysctls are best-effort and strict ARP is opt-in', async () => {
    expect(ipvsSysctls(false).map(([n]) => n)).not.toContain('net.ipv4.conf.all.arp_ignore');
    const failed = await applySysctls(ipvsSysctls(true), async (n) => {
      if (n.endsWith('conn_reuse_mode')) throw new Error('read-only');
    });
    expect(failed).toEqual([{ name: 'net.ipv4.vs.conn_reuse_mode', error: 'read-only' }]);
  });
});
