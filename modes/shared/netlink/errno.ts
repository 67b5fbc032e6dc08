// Kernel errors arrive as negative errno values in NLMSG_ERROR / NLMSG_DONE; Node knows their
// names (os.constants.errno), which read better in logs than numbers.

import { constants } from 'node:os';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** "ENOENT" for 2, or "errno 999" for numbers Node does not name. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}
