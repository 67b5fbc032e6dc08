// Reading what a userspace-mode proxy left in one family's nat table, for the cleanup that every
// other mode runs after its first sync (proxy/mode-switch.ts). Only the chains that can hold
// something of ours are listed (PREROUTING and OUTPUT for the jumps, our four chains for their
// existence), never the whole table: at 10,000 services iptables mode's nat table is 46 MiB of
// iptables-save text, read once per family just to find that nothing of ours is in it.

import type { IPFamily } from '../../proxy/model/types.js';
import type { IptablesRunner } from '../iptables/runner.js';
import { JUMP_CHAINS, USERSPACE_CHAINS, type PortalsLeftovers } from './portals.js';

export async function readPortalsLeftovers(runner: IptablesRunner, family: IPFamily): Promise<PortalsLeftovers> {
  const builtins = await Promise.all(JUMP_CHAINS.map((c) => runner.listChain(family, 'nat', c)));
  const ours = await Promise.all(USERSPACE_CHAINS.map(async (c) => ((await runner.listChain(family, 'nat', c)) ? [c] : [])));
  return { builtins: builtins.flatMap((c) => c ?? []), present: ours.flat() };
}
