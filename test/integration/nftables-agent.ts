// Runs inside a throw-away network namespace (spawned by nftables-kernel.test.ts from dist/): the
// nftables dataplane on the real netlink client through a fixed series of syncs, printing each
// sync's stats as one JSON line.

import { execFileSync } from 'node:child_process';
import { createNftablesDataplane } from '../../modes/nftables/dataplane.js';
import { NftNetlinkClient } from '../../modes/nftables/netlink/client.js';
import { silentLogger } from '../../proxy/log.js';
import { ProxyMetrics } from '../../sync/metrics.js';
import { changes, config, NODE_IP, recordingConntrack, state } from '../unit/nftables-mode/fixtures.js';
import { scenario } from './nftables-scenario.js';

const client = await NftNetlinkClient.open();
const dp = createNftablesDataplane({
  config: config(),
  client,
  conntrack: recordingConntrack().ct,
  metrics: new ProxyMetrics({ processMetrics: false }),
  logger: silentLogger,
  families: ['IPv4', 'IPv6'],
  nodeIPs: () => [NODE_IP],
  localAddresses: () => [NODE_IP],
});
const steps = scenario();
for (const s of steps) {
  try {
    if (s.nft) execFileSync('nft', s.nft);
    const r = await dp.sync({ state: state(s.entries), changes: changes(s.changed, s.removed), full: s.full });
    process.stdout.write(JSON.stringify({ step: s.name, ok: true, full: r.full, stats: r.stats }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ step: s.name, ok: false, error: String(e) }) + '\n');
  }
}
await client.close();
