// Privileged, per-node set-up done once at start like upstream: conntrack table size and timeouts,
// route_localnet for localhost NodePorts, and the process's OOM score. Every write is best effort:
// a failure is logged and the daemon goes on (in a container some of these are read-only).
//
// Only per-network-namespace sysctls under /proc/sys/net are written. The conntrack hash size
// (/sys/module/nf_conntrack/parameters/hashsize) is global to the host, so it is left alone.

import { cpus } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import type { ProxyConfig } from './config/types.js';
import type { Logger } from './log.js';

export interface SysctlWrite {
  readonly path: string;
  readonly value: string;
  /** Only raise, never lower (conntrack max: never shrink a table an operator enlarged). */
  readonly raiseOnly?: boolean;
}

/** Pure: which sysctls the configuration asks for. */
export function plannedSysctls(config: ProxyConfig, ncpu: number): SysctlWrite[] {
  const out: SysctlWrite[] = [];
  const ct = config.conntrack;
  if (ct.maxPerCore > 0) {
    const max = Math.max(ct.maxPerCore * ncpu, ct.min);
    out.push({ path: '/proc/sys/net/netfilter/nf_conntrack_max', value: String(max), raiseOnly: true });
  }
  const secs = (ms: number) => String(Math.floor(ms / 1000));
  if (ct.tcpEstablishedTimeoutMs > 0) out.push({ path: '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established', value: secs(ct.tcpEstablishedTimeoutMs) });
  if (ct.tcpCloseWaitTimeoutMs > 0) out.push({ path: '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait', value: secs(ct.tcpCloseWaitTimeoutMs) });
  if (ct.tcpBeLiberal) out.push({ path: '/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal', value: '1' });
  if (ct.udpTimeoutMs > 0) out.push({ path: '/proc/sys/net/netfilter/nf_conntrack_udp_timeout', value: secs(ct.udpTimeoutMs) });
  if (ct.udpStreamTimeoutMs > 0) out.push({ path: '/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream', value: secs(ct.udpStreamTimeoutMs) });
  if (config.mode === 'iptables' && config.iptables.localhostNodePorts) {
    out.push({ path: '/proc/sys/net/ipv4/conf/all/route_localnet', value: '1' });
  }
  if (config.mode === 'ipvs' || config.mode === 'iptables' || config.mode === 'userspace') {
    // Forwarding is needed for DNAT to endpoints on other nodes (kubelet or the CNI usually set it).
    out.push({ path: '/proc/sys/net/ipv4/ip_forward', value: '1' });
  }
  return out;
}

export async function applyNodeSetup(config: ProxyConfig, logger: Logger): Promise<void> {
  if (config.mode === 'noop') return;
  for (const w of plannedSysctls(config, cpus().length)) {
    try {
      if (w.raiseOnly) {
        const current = Number((await readFile(w.path, 'utf8')).trim());
        if (current >= Number(w.value)) continue;
      }
      await writeFile(w.path, w.value);
      logger.v(2, 'set sysctl', { path: w.path, value: w.value });
    } catch (err) {
      logger.warn('could not set sysctl', { path: w.path, value: w.value, err });
    }
  }
}

export async function applyOomScoreAdj(value: number, logger: Logger): Promise<void> {
  try {
    await writeFile('/proc/self/oom_score_adj', String(value));
  } catch (err) {
    logger.warn('could not set oom_score_adj', { value, err });
  }
}
