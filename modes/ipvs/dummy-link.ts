// kube-ipvs0: the dummy interface holding every service VIP, so the kernel accepts packets for
// them locally and IPVS (hooked in LOCAL_IN) can balance them. The pure part is the address diff
// and the `ip -batch` text; the adapter runs `ip` with argument vectors and never names any other
// interface. Like upstream, the link is left down: local routes for its addresses exist anyway.

import { execOk, exec as defaultExec, type Exec } from '../shared/exec.js';
import { ipFamily } from '../../proxy/model/ip.js';

export const DUMMY_LINK = 'kube-ipvs0';

export interface DummyLink {
  /** Create the link if it does not exist. */
  ensure(): Promise<void>;
  /** Addresses on the link; [] when it does not exist. */
  addresses(): Promise<string[]>;
  /** Add `add` and remove `remove` in one `ip -batch` call. */
  apply(add: readonly string[], remove: readonly string[]): Promise<void>;
  /** Delete the link (and with it every VIP); no error when it is absent. */
  remove(): Promise<void>;
}

export interface AddressDiff {
  readonly add: string[];
  readonly remove: string[];
}

export function diffAddresses(want: ReadonlySet<string>, have: readonly string[]): AddressDiff {
  const haveSet = new Set(have);
  return {
    add: [...want].filter((a) => !haveSet.has(a)).sort(),
    remove: have.filter((a) => !want.has(a)).sort(),
  };
}

/** `ip -batch -` input. Host prefixes only: a VIP must not create a route to a subnet. */
export function renderAddressBatch(add: readonly string[], remove: readonly string[]): string {
  const cidr = (a: string): string => `${a}/${ipFamily(a) === 'IPv6' ? 128 : 32}`;
  return [
    ...remove.map((a) => `address del ${cidr(a)} dev ${DUMMY_LINK}`),
    ...add.map((a) => `address add ${cidr(a)} dev ${DUMMY_LINK}`),
  ].map((l) => l + '\n').join('');
}

interface IpAddrJson {
  readonly ifname?: string;
  readonly addr_info?: ReadonlyArray<{ readonly local?: string; readonly family?: string; readonly scope?: string }>;
}

/** Parse `ip -j addr show dev kube-ipvs0`; IPv6 link-local addresses are the kernel's, not ours. */
export function parseIpAddrJson(text: string): string[] {
  const parsed: unknown = JSON.parse(text.trim() || '[]');
  if (!Array.isArray(parsed)) return [];
  const out: string[] = [];
  for (const link of parsed as IpAddrJson[]) {
    for (const a of link.addr_info ?? []) {
      if (a.local && a.scope !== 'link') out.push(a.local);
    }
  }
  return out;
}

export function createDummyLink(run: Exec = defaultExec): DummyLink {
  const exists = async (): Promise<boolean> => (await run(['ip', 'link', 'show', 'dev', DUMMY_LINK])).code === 0;
  return {
    async ensure() {
      if (await exists()) return;
      const r = await run(['ip', 'link', 'add', DUMMY_LINK, 'type', 'dummy']);
      // Another process (or a previous attempt) may have won the race.
      if (r.code !== 0 && !(await exists())) throw new Error(`ip link add ${DUMMY_LINK}: ${r.stderr.trim()}`);
    },
    async addresses() {
      const r = await run(['ip', '-j', 'addr', 'show', 'dev', DUMMY_LINK]);
      if (r.code !== 0) return [];
      return parseIpAddrJson(r.stdout);
    },
    async apply(add, remove) {
      if (add.length === 0 && remove.length === 0) return;
      await execOk(['ip', '-batch', '-'], { input: renderAddressBatch(add, remove) }, run);
    },
    async remove() {
      if (!(await exists())) return;
      await execOk(['ip', 'link', 'del', DUMMY_LINK], undefined, run);
    },
  };
}
