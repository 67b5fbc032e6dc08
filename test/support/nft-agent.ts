// Runs inside a network namespace (started by nft-netns.ts through `ip netns exec NS vite-node`):
// opens the real NftNetlinkClient there and serves it over stdio, one JSON request per line:
// {"id":1,"method":"commit","args":[ops]} -> {"id":1,"result":...} or {"id":1,"error":...}.

import { createInterface } from 'node:readline';
import { NftNetlinkClient } from '../../modes/nftables/netlink/client.js';
import type { NftFamily, NftOp } from '../../modes/nftables/netlink/types.js';
import { fromWire, toWire } from './nft-wire.js';

const client = await NftNetlinkClient.open();
const rl = createInterface({ input: process.stdin });
process.stdout.write('READY\n');

for await (const line of rl) {
  if (!line.trim()) continue;
  const req = fromWire(line) as { id: number; method: string; args: unknown[] };
  try {
    let result: unknown;
    if (req.method === 'commit') result = await client.commit(req.args[0] as NftOp[]);
    else if (req.method === 'dumpTable') result = await client.dumpTable(req.args[0] as NftFamily, req.args[1] as string);
    else if (req.method === 'stats') result = client.stats;
    else throw new Error(`unknown method ${req.method}`);
    process.stdout.write(`${toWire({ id: req.id, result })}\n`);
  } catch (e) {
    process.stdout.write(`${toWire({ id: req.id, error: e })}\n`);
  }
}
await client.close();
