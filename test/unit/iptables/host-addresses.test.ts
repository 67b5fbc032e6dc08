// Issue #18: the daemon hands the iptables dataplane its interface reader (node-ips.ts
// localAddresses: one getifaddrs dump, ~20-50 µs, more with a veth per pod) for the node IPs and
// defaults the local-address reader to the same. Each family's sync called both: four dumps per
// sync, whatever changed. Now: one per sync, and none for the local list unless
// --nodeport-addresses names a CIDR (the only selection that reads it).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIptablesDataplane } from '../../../modes/iptables/dataplane.js';
import { silentLogger } from '../../../proxy/log.js';
import { nodePortSelectionReadsLocal, selectNodePortAddresses } from '../../../proxy/node-ips.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { changesBetween } from '../../support/changes.js';
import { recordingRunner } from '../../support/recording-runner.js';
import { config, ep, recordingConntrack, sp, state } from './fixtures.js';
import { countingReader } from '../../support/counting-reader.js';

async function syncTwice(nodePortAddresses: string[], sameReader: boolean): Promise<{ nodeIPReads: number; localReads: number; payload: string }> {
  const host = countingReader(['198.18.0.2', '127.0.0.1', '2001:db8::2']);
  const local = sameReader ? host : countingReader(['198.18.0.2', '127.0.0.1', '2001:db8::2']);
  const runner = recordingRunner();
  const dp = createIptablesDataplane({
    config: config((d) => void (d.nodePortAddresses = nodePortAddresses)),
    runner,
    conntrack: recordingConntrack().ct,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    families: ['IPv4', 'IPv6'],
    nodeIPs: host.read,
    // The daemon's wiring: one reader for both (node-ips.ts localAddresses, also the default).
    localAddresses: local.read,
  });
  const svc = sp('ns', 'web', { type: 'NodePort', nodePort: 30080 });
  const s1 = state([[svc, [ep('198.18.1.1')]]]);
  await dp.sync({ state: s1, changes: changesBetween(undefined, s1), full: true });
  const s2 = state([[svc, [ep('198.18.1.2')]]]);
  const h0 = host.calls();
  const l0 = sameReader ? 0 : local.calls();
  const r = await dp.sync({ state: s2, changes: changesBetween(s1, s2), full: false });
  expect(r.full).toBe(false);
  const payload = runner.restores.map((x) => `${x.family}\n${x.payload}`).join('');
  return { nodeIPReads: host.calls() - h0, localReads: sameReader ? 0 : local.calls() - l0, payload };
}

describe('iptables dataplane: host address reads per sync (dual-stack)', () => {
  it('reads the node IPs once and the local addresses not at all by default', async () => {
    const r = await syncTwice([], false);
    expect({ nodeIPReads: r.nodeIPReads, localReads: r.localReads }).toEqual({ nodeIPReads: 1, localReads: 0 });
  });

  it('reads the local addresses once when --nodeport-addresses names a CIDR, and them alone with the daemon wiring', async () => {
    const apart = await syncTwice(['198.18.0.0/24'], false);
    expect({ nodeIPReads: apart.nodeIPReads, localReads: apart.localReads }).toEqual({ nodeIPReads: 1, localReads: 1 });
    const daemon = await syncTwice(['198.18.0.0/24'], true);
    expect(daemon.nodeIPReads).toBe(1);
    // The same rules either way: the NodePort is accepted on the selected local address only.
    expect(daemon.payload).toBe(apart.payload);
    expect(daemon.payload).toContain('-d 198.18.0.2');
  });
});

describe('nodePortSelectionReadsLocal', () => {
  it('is false only where selectNodePortAddresses ignores the local addresses', () => {
    const entry = fc.constantFrom('all', 'primary', '198.18.0.0/24', '198.19.0.0/16', '2001:db8::/64', '127.0.0.0/8');
    const addr = fc.constantFrom('198.18.0.2', '198.19.3.4', '127.0.0.1', '2001:db8::2', '2001:db8:5::1');
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 4 }), fc.array(addr, { maxLength: 5 }), fc.array(addr, { maxLength: 2 }), fc.constantFrom('IPv4' as const, 'IPv6' as const), (sel, local, primary, family) => {
        if (nodePortSelectionReadsLocal(sel)) return;
        expect(selectNodePortAddresses(sel, local, primary, family)).toEqual(selectNodePortAddresses(sel, [], primary, family));
      }),
      { numRuns: 2000 },
    );
    expect(nodePortSelectionReadsLocal(['198.18.0.0/24'])).toBe(true);
    expect(nodePortSelectionReadsLocal(['primary', '2001:db8::/64'])).toBe(true);
  });
});
