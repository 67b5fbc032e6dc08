// Issue #18: the daemon hands nftables mode its interface reader (node-ips.ts localAddresses: one
// getifaddrs dump, ~20-50 µs, more with a veth per pod) for the node IPs, and the local-address
// reader defaults to the same. Each family's options read both: four dumps per dual-stack sync,
// whatever changed. Now one per sync, and none for the local list unless --nodeport-addresses
// names a CIDR (unset means `primary` in this mode, which does not read it).

import { describe, expect, it } from 'vitest';
import { createNftablesDataplane } from '../../../modes/nftables/dataplane.js';
import { silentLogger } from '../../../proxy/log.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { FakeNftClient } from '../../fakes/nftables/fake-client.js';
import { canonical, changes, config, ep, NODE_IP, recordingConntrack, sp, state } from './fixtures.js';
import { countingReader } from '../../support/counting-reader.js';

const HOST = [NODE_IP, '198.18.9.9', '127.0.0.1', '2001:db8::2'];

async function partialSyncReads(nodePortAddresses: string[], sameReader: boolean): Promise<{ nodeIPReads: number; localReads: number; table: unknown }> {
  const host = countingReader(HOST);
  const local = sameReader ? host : countingReader(HOST);
  const client = new FakeNftClient();
  const dp = createNftablesDataplane({
    config: config((d) => void (d.nodePortAddresses = nodePortAddresses)),
    client,
    conntrack: recordingConntrack().ct,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    families: ['IPv4', 'IPv6'],
    nodeIPs: host.read,
    localAddresses: local.read,
  });
  const web = sp('ns', 'web', { type: 'NodePort', nodePort: 30080 });
  const s1 = state([[web, [ep('198.18.1.1')]]]);
  await dp.sync({ state: s1, changes: changes([]), full: true });
  const h0 = host.calls();
  const l0 = sameReader ? 0 : local.calls();
  const s2 = state([[web, [ep('198.18.1.2')]]]);
  const r = await dp.sync({ state: s2, changes: changes([web.key]), full: false });
  expect(r.full).toBe(false);
  return { nodeIPReads: host.calls() - h0, localReads: sameReader ? 0 : local.calls() - l0, table: canonical(await client.dumpTable('ip', 'kube-proxy')) };
}

describe('nftables dataplane: host address reads per sync (dual-stack)', () => {
  it('reads the node IPs once and the local addresses not at all by default (primary)', async () => {
    const r = await partialSyncReads([], false);
    expect({ nodeIPReads: r.nodeIPReads, localReads: r.localReads }).toEqual({ nodeIPReads: 1, localReads: 0 });
  });

  it('reads the local addresses once when --nodeport-addresses names a CIDR, and one list alone with the daemon wiring', async () => {
    const apart = await partialSyncReads(['198.18.9.0/24'], false);
    expect({ nodeIPReads: apart.nodeIPReads, localReads: apart.localReads }).toEqual({ nodeIPReads: 1, localReads: 1 });
    const daemon = await partialSyncReads(['198.18.9.0/24'], true);
    expect(daemon.nodeIPReads).toBe(1);
    // The same table either way, with the selected address (not the node IP) accepting NodePorts.
    expect(daemon.table).toEqual(apart.table);
    expect(JSON.stringify(daemon.table)).toContain(Buffer.from([198, 18, 9, 9]).toString('hex'));
  });
});
