// nftables mode's configuration: upstream's nftables{} block, its sync periods driving the loop,
// --masquerade-all reaching it, and --nodeport-addresses defaulting to the primary IPs.

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, syncPeriods } from '../../../proxy/config/load.js';
import { buildNftOptions } from '../../../modes/nftables/options.js';
import { config, node, NODE_IP } from './fixtures.js';

const HEAD = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';
const file = (text: string) => () => HEAD + text;

describe('nftables config', () => {
  it('reads the nftables block and uses its periods in nftables mode', () => {
    const c = loadConfig(['--config=/k.yaml'], file('mode: nftables\nnftables:\n  masqueradeBit: 10\n  masqueradeAll: true\n  syncPeriod: 45s\n  minSyncPeriod: 2s\n')).config;
    expect(c.mode).toBe('nftables');
    expect(c.nftables).toEqual({ masqueradeBit: 10, masqueradeAll: true, syncPeriodMs: 45_000, minSyncPeriodMs: 2000 });
    expect(syncPeriods(c)).toEqual({ syncPeriodMs: 45_000, minSyncPeriodMs: 2000 });
    expect(buildNftOptions({ config: c, node: node(), family: 'IPv4' }).masqueradeMark).toBe(0x400);
  });

  it('names the field of a bad nftables value and checks minSyncPeriod <= syncPeriod', () => {
    expect(() => loadConfig(['--config=/k.yaml'], file('nftables:\n  masqueradeBit: 40\n'))).toThrow(/nftables\.masqueradeBit/);
    expect(() => loadConfig(['--config=/k.yaml'], file('nftables:\n  syncPeriod: 1s\n  minSyncPeriod: 5s\n'))).toThrow(ConfigError);
  });

  it('--masquerade-all sets nftables.masqueradeAll too', () => {
    expect(loadConfig(['--mode=nftables', '--masquerade-all']).config.nftables.masqueradeAll).toBe(true);
  });

  it('defaults --nodeport-addresses to the primary IPs (not all) and never accepts loopback', () => {
    const o = buildNftOptions({ config: config(), node: node(), family: 'IPv4', localAddresses: [NODE_IP, '198.18.9.9', '127.0.0.1'] });
    expect(o.nodePortAddresses).toEqual([NODE_IP]);
    const all = buildNftOptions({ config: config((d) => void (d.nodePortAddresses = ['all'])), node: node(), family: 'IPv4' });
    expect(all.nodePortAddresses).toBe('all');
    const cidr = buildNftOptions({ config: config((d) => void (d.nodePortAddresses = ['127.0.0.0/8', '198.18.0.0/16'])), node: node(), family: 'IPv4', localAddresses: [NODE_IP, '127.0.0.1'] });
    expect(cidr.nodePortAddresses).toEqual([NODE_IP]);
  });
});

describe('mode-independent periods', () => {
  it('--sync-period / --min-sync-period set nftables mode periods', () => {
    const c = loadConfig(['--mode=nftables', '--sync-period=10s', '--min-sync-period=100ms']).config;
    expect(syncPeriods(c)).toEqual({ syncPeriodMs: 10_000, minSyncPeriodMs: 100 });
    expect(c.iptables.minSyncPeriodMs).toBe(1000);
  });
});
