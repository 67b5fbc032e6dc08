// Which binary to run for a (backend, family, operation). Kept apart so detection, restore and
// save agree on the names, and so tests can see exactly what would be executed.

import type { IPFamily } from '../../../proxy/model/types.js';
import type { IptablesBackend } from '../runner.js';

export type IptablesTool = 'save' | 'restore';

export function toolName(backend: IptablesBackend, family: IPFamily, tool: IptablesTool): string {
  const base = family === 'IPv6' ? 'ip6tables' : 'iptables';
  return `${base}-${backend}-${tool}`;
}
