// Kernel settings IPVS mode relies on, written best-effort (a read-only /proc/sys in a container
// must not stop the proxy; the failure is logged).
//  - vs/conntrack=1: IPVS connections get conntrack entries, needed for the iptables masquerade.
//  - vs/expire_nodest_conn=1: drop connections whose real server was deleted (UDP relies on it).
//  - vs/expire_quiescent_template=1: persistence templates of weight-0 servers expire, so
//    ClientIP affinity does not pin clients to a draining endpoint.
//  - vs/conn_reuse_mode=0: avoids the 1 s SYN stall on port reuse (upstream's setting for
//    kernels before 5.9; harmless after).
//  - strict ARP: do not answer ARP for VIPs on kube-ipvs0 from other interfaces.

import { writeFile } from 'node:fs/promises';

export type SysctlWriter = (name: string, value: string) => Promise<void>;

export const procSysctl: SysctlWriter = (name, value) =>
  writeFile(`/proc/sys/${name.replace(/\./g, '/')}`, value);

export function ipvsSysctls(strictARP: boolean): Array<readonly [string, string]> {
  const list: Array<readonly [string, string]> = [
    ['net.ipv4.vs.conntrack', '1'],
    ['net.ipv4.vs.expire_nodest_conn', '1'],
    ['net.ipv4.vs.expire_quiescent_template', '1'],
    ['net.ipv4.vs.conn_reuse_mode', '0'],
    ['net.ipv4.ip_forward', '1'],
  ];
  if (strictARP) list.push(['net.ipv4.conf.all.arp_ignore', '1'], ['net.ipv4.conf.all.arp_announce', '2']);
  return list;
}

/** Write each setting; returns the failures instead of throwing. */
export async function applySysctls(
  list: ReadonlyArray<readonly [string, string]>,
  write: SysctlWriter = procSysctl,
): Promise<Array<{ name: string; error: string }>> {
  const failed: Array<{ name: string; error: string }> = [];
  for (const [name, value] of list) {
    try {
      await write(name, value);
    } catch (e) {
      failed.push({ name, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return failed;
}
