// Start-up checks of the node's kernel settings that kube-proxy needs but does not own, logged
// once as upstream's proxiers do in NewProxier. Today: br_netfilter.
//
// Pods on a Linux bridge (docker0 / cni0 style) reach a ClusterIP whose endpoint sits on the same
// bridge; the reply goes pod-to-pod over the bridge at layer 2 and never crosses the node's IP
// stack, so conntrack cannot undo the DNAT unless br_netfilter hands bridged frames to iptables
// (net.bridge.bridge-nf-call-iptables=1). The client then sees an answer from the pod's address
// instead of the ClusterIP and the connection fails. Upstream logs this whenever the sysctl is
// present and not 1; we log it only when the node really has a Linux bridge (routed /32 CNIs such
// as Calico do not need br_netfilter, so the line would only be noise there), and also when the
// sysctl is absent altogether (br_netfilter not loaded: the bridge bypasses iptables just the same).
// SDN bridges (Open vSwitch) are not Linux bridges and are not counted.

import { readdir, readFile } from 'node:fs/promises';
import type { ProxyMode } from './config/types.js';
import type { Logger } from './log.js';

export const BRIDGE_NF_CALL_IPTABLES = '/proc/sys/net/bridge/bridge-nf-call-iptables';
const SYS_CLASS_NET = '/sys/class/net';

/** Upstream's wording, so operators' searches and alerts match. */
export const BRIDGE_NF_MESSAGE = 'Missing br-netfilter module or unset sysctl br-nf-call-iptables, proxy may not work as intended';

export interface BridgeNetfilterFacts {
  /** Linux bridge devices in this network namespace (those with a `bridge/` directory in sysfs). */
  readonly bridges: readonly string[];
  /** The value of net.bridge.bridge-nf-call-iptables, or undefined when the sysctl does not exist. */
  readonly callIptables: string | undefined;
}

export interface NodeWarning {
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Pure: the warning to log for these facts, if any. Only iptables and IPVS modes check, as upstream. */
export function bridgeNetfilterWarning(mode: ProxyMode, facts: BridgeNetfilterFacts): NodeWarning | undefined {
  if (mode !== 'iptables' && mode !== 'ipvs') return undefined;
  if (facts.bridges.length === 0) return undefined;
  const value = facts.callIptables?.trim();
  if (value === '1') return undefined;
  return {
    msg: BRIDGE_NF_MESSAGE,
    fields: {
      bridges: [...facts.bridges].sort(),
      sysctl: 'net.bridge.bridge-nf-call-iptables',
      value: value ?? 'absent (br_netfilter not loaded)',
    },
  };
}

/** Reads the facts from /sys and /proc of the daemon's network namespace; never throws. */
export async function readBridgeNetfilterFacts(): Promise<BridgeNetfilterFacts> {
  let devices: string[] = [];
  try {
    devices = await readdir(SYS_CLASS_NET);
  } catch {
    // No sysfs: nothing to say about bridges.
  }
  const bridges: string[] = [];
  await Promise.all(
    devices.map(async (dev) => {
      try {
        await readdir(`${SYS_CLASS_NET}/${dev}/bridge`);
        bridges.push(dev);
      } catch {
        // Not a bridge.
      }
    }),
  );
  let callIptables: string | undefined;
  try {
    callIptables = (await readFile(BRIDGE_NF_CALL_IPTABLES, 'utf8')).trim();
  } catch {
    callIptables = undefined;
  }
  return { bridges, callIptables };
}

export async function checkNodeKernel(mode: ProxyMode, logger: Logger): Promise<void> {
  const warning = bridgeNetfilterWarning(mode, await readBridgeNetfilterFacts());
  if (warning) logger.warn(warning.msg, warning.fields);
}
