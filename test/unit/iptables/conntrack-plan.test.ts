import { describe, expect, it } from 'vitest';
import { planConntrackCleanup } from '../../../modes/shared/conntrack-plan.js';
import { EMPTY_CHANGES } from '../../../proxy/model/types.js';
import { ep, harness, sp, state } from './fixtures.js';

const udp = sp('ns', 'dns', { protocol: 'UDP', port: 53, type: 'NodePort', nodePort: 30053, externalIPs: ['192.0.2.5'] });

describe('conntrack cleanup plan', () => {
  it('clears VIPs and the NodePort when a UDP service gains its first endpoint', () => {
    const ops = planConntrackCleanup(state([[udp, []]]), state([[udp, [ep('198.18.1.1')]]]), [udp.key], ['IPv4']);
    expect(ops).toEqual([
      { kind: 'ip', ip: '198.19.0.1', protocol: 'UDP' },
      { kind: 'ip', ip: '192.0.2.5', protocol: 'UDP' },
      { kind: 'port', port: 30053, isIPv6: false, protocol: 'UDP' },
    ]);
  });

  it('clears NAT entries to a removed endpoint only', () => {
    const ops = planConntrackCleanup(
      state([[udp, [ep('198.18.1.1'), ep('198.18.1.2')]]]),
      state([[udp, [ep('198.18.1.2')]]]),
      [udp.key],
      ['IPv4'],
    );
    expect(ops).toEqual([
      { kind: 'nat', origin: '198.19.0.1', dest: '198.18.1.1', protocol: 'UDP' },
      { kind: 'nat', origin: '192.0.2.5', dest: '198.18.1.1', protocol: 'UDP' },
      { kind: 'portNat', dest: '198.18.1.1', port: 30053, protocol: 'UDP' },
    ]);
  });

  it('ignores TCP and unchanged keys', () => {
    const tcp = sp('ns', 'web');
    expect(planConntrackCleanup(state([[tcp, []]]), state([[tcp, [ep('198.18.1.1')]]]), [tcp.key], ['IPv4'])).toEqual([]);
    expect(planConntrackCleanup(state([[udp, []]]), state([[udp, [ep('198.18.1.1')]]]), [], ['IPv4'])).toEqual([]);
  });

  it('is executed by the dataplane after a sync', async () => {
    const h = harness();
    await h.dp.sync({ state: state([[udp, []]]), changes: EMPTY_CHANGES, full: true });
    expect(h.conntrackCalls).toEqual([]);
    await h.dp.sync({ state: state([[udp, [ep('198.18.1.1')]]]), changes: { ...EMPTY_CHANGES, changed: new Set([udp.key]) }, full: false });
    expect(h.conntrackCalls.map((c) => c.op)).toEqual(['ip', 'ip', 'port']);
  });
});
