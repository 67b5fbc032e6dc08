// Which binary to run for a (backend, family, operation). Kept apart so detection, restore and
// save agree on the names, and so tests can see exactly what would be executed.

import type { IPFamily } from '../../../proxy/model/types.js';
import type { IptablesBackend } from '../runner.js';

export type IptablesTool = 'save' | 'restore';

export function toolName(backend: IptablesBackend, family: IPFamily, tool: IptablesTool): string {
  const base = family === 'IPv6' ? 'ip6tables' : 'iptables';
  return `${base}-${backend}-${tool}`;
}

/** The plain command (`iptables-nft`, `ip6tables-legacy`, ...), for listing one chain. */
export function commandName(backend: IptablesBackend, family: IPFamily): string {
  return `${family === 'IPv6' ? 'ip6tables' : 'iptables'}-${backend}`;
}

/**
 * Whether a failed `-S CHAIN` said only that the chain does not exist. iptables-legacy says "No
 * chain/target/match by that name"; iptables-nft 1.8.9 says the chain "is incompatible, use 'nft'
 * tool" for a chain that does not exist (the same words as for a chain holding rules it cannot
 * show, which none of our chains does).
 */
export function chainMissing(stderr: string, table: string, chain: string): boolean {
  return /No chain\/target\/match by that name/.test(stderr) || stderr.includes(`chain \`${chain}' in table \`${table}' is incompatible`);
}
