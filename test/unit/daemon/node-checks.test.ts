// The br_netfilter start-up warning as a pure decision: a Linux bridge on the node and
// bridge-nf-call-iptables not 1 (or absent) in iptables / IPVS mode gives upstream's one line.

import { describe, expect, it } from 'vitest';
import { BRIDGE_NF_MESSAGE, bridgeNetfilterWarning } from '../../../proxy/node-checks.js';

describe('bridgeNetfilterWarning', () => {
  it('warns in iptables and IPVS mode when a bridge exists and the sysctl is 0', () => {
    for (const mode of ['iptables', 'ipvs'] as const) {
      expect(bridgeNetfilterWarning(mode, { bridges: ['cni0', 'docker0'], callIptables: '0' })).toEqual({
        msg: BRIDGE_NF_MESSAGE,
        fields: { bridges: ['cni0', 'docker0'], sysctl: 'net.bridge.bridge-nf-call-iptables', value: '0' },
      });
    }
  });

  it('warns when br_netfilter is not loaded at all (no sysctl) and a bridge exists', () => {
    const w = bridgeNetfilterWarning('iptables', { bridges: ['cni0'], callIptables: undefined });
    expect(w?.msg).toBe(BRIDGE_NF_MESSAGE);
    expect(w?.fields['value']).toMatch(/absent/);
  });

  it('is silent when the sysctl is 1, with or without surrounding whitespace', () => {
    expect(bridgeNetfilterWarning('iptables', { bridges: ['cni0'], callIptables: '1' })).toBeUndefined();
    expect(bridgeNetfilterWarning('ipvs', { bridges: ['cni0'], callIptables: '1\n' })).toBeUndefined();
  });

  it('is silent without a Linux bridge (routed /32 pods need no br_netfilter)', () => {
    expect(bridgeNetfilterWarning('iptables', { bridges: [], callIptables: '0' })).toBeUndefined();
    expect(bridgeNetfilterWarning('iptables', { bridges: [], callIptables: undefined })).toBeUndefined();
  });

  it('is silent in the modes upstream does not check (nftables, userspace, noop)', () => {
    for (const mode of ['nftables', 'userspace', 'noop'] as const) {
      expect(bridgeNetfilterWarning(mode, { bridges: ['cni0'], callIptables: '0' })).toBeUndefined();
    }
  });

  it('lists the bridges sorted, so the line is the same whatever order sysfs gave', () => {
    expect(bridgeNetfilterWarning('iptables', { bridges: ['docker0', 'br-x', 'cni0'], callIptables: '0' })?.fields['bridges']).toEqual([
      'br-x',
      'cni0',
      'docker0',
    ]);
  });
});
