// A two-node "cluster" built from network namespaces, for end-to-end tests of every mode.
//
//   LAN namespace: bridge br0 joining node A (198.18.0.1), node B (198.18.0.2) and an external
//   client (198.18.0.100); IPv6 2001:db8::1/::2/::100 on the same /64.
//   Node namespaces: forwarding on, pods attached by veth with /32 (/128) host routes like a CNI;
//   the node side of each pod veth carries the pod gateway (198.18.1.1 / 198.18.2.1, fe80::1).
//   (That is the default 'routed' pod network; opts.podNetwork 'bridge' puts the pods on a cni0
//   bridge per node instead, and 'vxlan' also joins the nodes' pod ranges by VXLAN: pod-network.ts.)
//   Node A pods a1 .11, a2 .12, client .100 (198.18.1.0/24, 2001:db8:1::/64); node B pods b1, b2
//   (198.18.2.0/24, 2001:db8:2::/64). Each node routes the other's pod range via the LAN and has a
//   default route via the external client (which does not forward), like an upstream router, so
//   locally-originated traffic to service IPs gets past routing to kube-proxy's OUTPUT rules.
//   External client: routes pod ranges to their nodes and the service range (198.19.0.0/16,
//   2001:db8:ff::/64) and the ExternalIP/LB range (198.18.200.0/24) via node A.
//
// Nothing is ever added to the root namespace. destroy() kills every process in the namespaces
// and deletes them; an exit/signal hook does the same if the test process dies first.

import { randomBytes } from 'node:crypto';
import { startEcho, type EchoOptions } from './echo.js';
import {
  deleteNamespaceSync,
  forgetOwner,
  ipBatch,
  killAllInSync,
  listNamespaces,
  nsExecOk,
  recordOwner,
  run,
} from './ns.js';
import { childrenExited, onProcessExit } from './processes.js';
import { nodePodCommands, peerRouteCommands, podCommands, podNetworkNodeSysctls, type PodNetwork } from './pod-network.js';
import type { Helper } from './spawn.js';
import {
  COMMON_SYSCTLS,
  EXTERNAL_CIDR_V4,
  EXTERNAL_PLAN,
  LAN_V4_PREFIX,
  LAN_V6_PREFIX,
  NODE_PLANS,
  NODE_SYSCTLS,
  POD_PLANS,
  SERVICE_CIDR_V4,
  SERVICE_CIDR_V6,
  type NodePlan,
  type PodPlan,
} from './topology.js';

export interface ClusterOptions {
  /** Kubernetes node names; default node-a / node-b. */
  readonly nodeNames?: { readonly a?: string; readonly b?: string };
  /** Start echo servers in the echo pods (default true). */
  readonly echo?: boolean;
  readonly echoOptions?: EchoOptions;
  /**
   * Tag inserted after "kpt" in every namespace name (lowercase letters), e.g. "demo" gives
   * "kptdemo3f9a-lan", so a tool's namespaces are recognisable; sweepStale still matches them.
   */
  readonly prefixTag?: string;
  /**
   * How pods attach to their node (see pod-network.ts): 'routed' /32 veths (default, Calico
   * style), 'bridge' (a cni0 bridge per node) or 'vxlan' (bridges, nodes joined by VXLAN).
   */
  readonly podNetwork?: PodNetwork;
  /** net.bridge.bridge-nf-call-iptables (and -ip6tables) in the node namespaces; default on. */
  readonly bridgeNfCallIptables?: boolean;
}

export interface NodeHandle extends NodePlan {
  /** Kubernetes node name. */
  readonly name: string;
  /** Network namespace name. */
  readonly ns: string;
}

export interface PodHandle extends PodPlan {
  readonly ns: string;
  /** Kubernetes node name of the pod's node. */
  readonly nodeName: string;
  /** The pod's echo server, when it runs one. */
  readonly echoServer?: Helper;
}

export interface HostHandle {
  readonly ns: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

export interface Cluster {
  /** e.g. "kpt3f9a-"; every namespace name starts with it. */
  readonly prefix: string;
  readonly podNetwork: PodNetwork;
  readonly namespaces: readonly string[];
  readonly lan: { readonly ns: string };
  readonly nodes: { readonly a: NodeHandle; readonly b: NodeHandle };
  /** The echo pods a1, a2 (node A), b1, b2 (node B). */
  readonly pods: readonly PodHandle[];
  /** The client pod on node A (no echo server). */
  readonly client: PodHandle;
  readonly external: HostHandle;
  pod(name: string): PodHandle;
  /** Kill everything in the namespaces and delete them. Idempotent, never throws. */
  destroy(): Promise<void>;
}

function newPrefix(tag = ''): string {
  return `kpt${tag}${randomBytes(2).toString('hex')}-`;
}

export async function createCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const tag = opts.prefixTag ?? '';
  if (!/^[a-z]*$/.test(tag)) throw new Error(`createCluster: prefixTag ${JSON.stringify(tag)} must be lowercase letters`);
  const existing = await listNamespaces();
  let prefix = newPrefix(tag);
  while (existing.some((n) => n.startsWith(prefix))) prefix = newPrefix(tag);

  const lanNs = `${prefix}lan`;
  const extNs = `${prefix}ext`;
  const nodeNs = { a: `${prefix}na`, b: `${prefix}nb` };
  const podNs = (p: PodPlan): string => `${prefix}${p.name === 'client' ? 'cl' : p.name}`;
  const namespaces = [lanNs, nodeNs.a, nodeNs.b, extNs, ...POD_PLANS.map(podNs)];
  const nodeNames = { a: opts.nodeNames?.a ?? 'node-a', b: opts.nodeNames?.b ?? 'node-b' };
  const podNetwork = opts.podNetwork ?? 'routed';
  const nodeSysctls = [...NODE_SYSCTLS, ...podNetworkNodeSysctls(podNetwork, opts.bridgeNfCallIptables ?? true)];

  const created: string[] = [];
  let destroyed = false;
  const removeAll = (): void => {
    for (const ns of created) deleteNamespaceSync(ns);
    forgetOwner(prefix);
  };
  const unhook = onProcessExit(removeAll);
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    unhook();
    // Kill first and wait for the exits, so no handle of a dead process outlives destroy().
    for (const ns of created) killAllInSync(ns);
    await childrenExited(created);
    removeAll();
  };

  try {
    recordOwner(prefix);
    for (const ns of namespaces) {
      await run(['ip', 'netns', 'add', ns]);
      created.push(ns);
    }
    const sysctl = (ns: string, values: readonly string[]): Promise<unknown> =>
      nsExecOk(ns, ['sysctl', '-q', '-w', ...values]);
    await Promise.all([
      sysctl(nodeNs.a, nodeSysctls),
      sysctl(nodeNs.b, nodeSysctls),
      ...[lanNs, extNs, ...POD_PLANS.map(podNs)].map((ns) => sysctl(ns, COMMON_SYSCTLS)),
    ]);

    await ipBatch(lanNs, [
      'link set lo up',
      'link add br0 type bridge mcast_snooping 0',
      'link set br0 up',
      ...[
        ['na', nodeNs.a],
        ['nb', nodeNs.b],
        ['ext', extNs],
      ].flatMap(([port, ns]) => [
        `link add ${port} type veth peer name eth0 netns ${ns}`,
        `link set ${port} master br0`,
        `link set ${port} up`,
      ]),
    ]);

    const other = { a: NODE_PLANS.b, b: NODE_PLANS.a };
    await Promise.all(
      (['a', 'b'] as const).map((k) => {
        const plan = NODE_PLANS[k];
        const peer = other[k];
        const pods = POD_PLANS.filter((p) => p.node === k);
        return ipBatch(nodeNs[k], [
          'link set lo up',
          'link set eth0 up',
          `addr add ${plan.ipv4}/${LAN_V4_PREFIX} dev eth0`,
          `addr add ${plan.ipv6}/${LAN_V6_PREFIX} dev eth0 nodad`,
          ...peerRouteCommands(podNetwork, plan, peer),
          `route add default via ${EXTERNAL_PLAN.ipv4}`,
          `route add default via ${EXTERNAL_PLAN.ipv6}`,
          ...nodePodCommands(podNetwork, plan, pods, podNs),
        ]);
      }),
    );

    await Promise.all([
      ...POD_PLANS.map((p) => ipBatch(podNs(p), podCommands(podNetwork, p, NODE_PLANS[p.node]))),
      ipBatch(extNs, [
        'link set lo up',
        'link set eth0 up',
        `addr add ${EXTERNAL_PLAN.ipv4}/${LAN_V4_PREFIX} dev eth0`,
        `addr add ${EXTERNAL_PLAN.ipv6}/${LAN_V6_PREFIX} dev eth0 nodad`,
        `route add ${SERVICE_CIDR_V4} via ${NODE_PLANS.a.ipv4}`,
        `route add ${EXTERNAL_CIDR_V4} via ${NODE_PLANS.a.ipv4}`,
        `route add ${SERVICE_CIDR_V6} via ${NODE_PLANS.a.ipv6}`,
        ...Object.values(NODE_PLANS).flatMap((n) => [
          `route add ${n.podCIDRv4} via ${n.ipv4}`,
          `route add ${n.podCIDRv6} via ${n.ipv6}`,
        ]),
      ]),
    ]);

    const echoes = new Map<string, Helper>();
    if (opts.echo !== false) {
      const started = await Promise.all(
        POD_PLANS.filter((p) => p.echo).map(async (p) => [p.name, await startEcho(podNs(p), p.name, opts.echoOptions)] as const),
      );
      for (const [name, helper] of started) echoes.set(name, helper);
    }

    const nodes = {
      a: { ...NODE_PLANS.a, name: nodeNames.a, ns: nodeNs.a },
      b: { ...NODE_PLANS.b, name: nodeNames.b, ns: nodeNs.b },
    };
    const handles: PodHandle[] = POD_PLANS.map((p) => {
      const echoServer = echoes.get(p.name);
      return { ...p, ns: podNs(p), nodeName: nodeNames[p.node], ...(echoServer ? { echoServer } : {}) };
    });
    const pod = (name: string): PodHandle => {
      const h = handles.find((p) => p.name === name);
      if (!h) throw new Error(`no pod ${name} in the e2e cluster`);
      return h;
    };
    return {
      prefix,
      podNetwork,
      namespaces,
      lan: { ns: lanNs },
      nodes,
      pods: handles.filter((p) => p.echo),
      client: pod('client'),
      external: { ns: extNs, ...EXTERNAL_PLAN },
      pod,
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
