// What the demo cluster serves and what its clients ask for: the sample Services and their
// EndpointSlices (one of each kind a newcomer should see work: ClusterIP, NodePort,
// externalTrafficPolicy Local, ClientIP affinity, UDP), and one probe per Service saying who
// sends requests where. Pure data over the fixed addressing plan of the e2e harness
// (test/e2e/harness/topology.ts): 198.18.0.0/16 nodes and pods, 198.19.0.0/16 services.

import type { KubernetesObject } from '@kubernetes/client-node';
import { makeEndpointSlice, makeNode, makeService, type ServiceSpec } from '../test/apiserver/builders.js';
import { NODE_PLANS, POD_PLANS, type PodPlan } from '../test/e2e/harness/topology.js';

/** Port the harness's echo servers answer on, TCP and UDP (test/e2e/harness/echo.ts). */
export const ECHO_PORT = 8080;

export const NODE_NAMES = { a: 'node-a', b: 'node-b' } as const;

export type Source = 'client' | 'external';

/** A stream of requests the demo keeps sending, and what the live view shows for it. */
export interface Probe {
  /** "namespace/name" of the Service. */
  readonly service: string;
  /** How the Service is reached, e.g. "NodePort, externalTrafficPolicy Local". */
  readonly kind: string;
  /** The client pod (on node A) or the external client on the LAN. */
  readonly from: Source;
  /** Where the requests go: a cluster IP or a node IP (NodePort). */
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  /** Why this row is interesting, one short phrase. */
  readonly note: string;
}

interface DemoService {
  readonly spec: ServiceSpec;
  readonly probe: Probe;
  /** Echo pods behind the Service (before any scaling). */
  readonly pods: readonly string[];
}

const WEB = 'default/web';
/** The pod that joins and leaves `web` every few seconds. */
export const SCALED_POD = 'b2';
const WEB_PODS = ['a1', 'b1'];

const SERVICES: readonly DemoService[] = [
  {
    spec: { name: 'web', clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80, targetPort: ECHO_PORT }] },
    pods: WEB_PODS,
    probe: { service: WEB, kind: 'ClusterIP', from: 'client', ip: '198.19.0.10', port: 80, protocol: 'TCP', note: `${SCALED_POD} joins and leaves` },
  },
  {
    spec: { name: 'shop', type: 'NodePort', clusterIP: '198.19.0.20', ports: [{ name: 'http', port: 80, targetPort: ECHO_PORT, nodePort: 30080 }] },
    pods: ['a2', 'b2'],
    probe: {
      service: 'default/shop',
      kind: 'NodePort',
      from: 'external',
      ip: NODE_PLANS.a.ipv4,
      port: 30080,
      protocol: 'TCP',
      note: 'via node A, either node’s pod',
    },
  },
  {
    spec: {
      name: 'local',
      type: 'NodePort',
      clusterIP: '198.19.0.30',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'http', port: 80, targetPort: ECHO_PORT, nodePort: 30090 }],
    },
    pods: ['a1', 'b1'],
    probe: {
      service: 'default/local',
      kind: 'NodePort, externalTrafficPolicy Local',
      from: 'external',
      ip: NODE_PLANS.b.ipv4,
      port: 30090,
      protocol: 'TCP',
      note: 'via node B: only node B’s pod',
    },
  },
  {
    spec: {
      name: 'sticky',
      clusterIP: '198.19.0.40',
      sessionAffinity: 'ClientIP',
      ports: [{ name: 'http', port: 80, targetPort: ECHO_PORT }],
    },
    pods: ['a1', 'a2', 'b1', 'b2'],
    probe: { service: 'default/sticky', kind: 'ClusterIP, sessionAffinity ClientIP', from: 'client', ip: '198.19.0.40', port: 80, protocol: 'TCP', note: 'one pod answers everything' },
  },
  {
    spec: { name: 'dns', namespace: 'kube-system', clusterIP: '198.19.0.53', ports: [{ name: 'dns', port: 53, targetPort: ECHO_PORT, protocol: 'UDP' }] },
    pods: ['b1', 'b2'],
    probe: { service: 'kube-system/dns', kind: 'ClusterIP, UDP', from: 'client', ip: '198.19.0.53', port: 53, protocol: 'UDP', note: 'one datagram per request' },
  },
];

export const PROBES: readonly Probe[] = SERVICES.map((s) => s.probe);

function podPlan(name: string): PodPlan {
  const p = POD_PLANS.find((x) => x.name === name);
  if (!p) throw new Error(`demo scenario: no pod ${name} in the harness topology`);
  return p;
}

/** The pod names behind `service` ("namespace/name") when `web` is scaled up or not. */
export function endpointPods(service: string, webScaledUp: boolean): string[] {
  const s = SERVICES.find((x) => x.probe.service === service);
  if (!s) throw new Error(`demo scenario: no service ${service}`);
  return service === WEB && webScaledUp ? [...s.pods, SCALED_POD] : [...s.pods];
}

function sliceFor(s: DemoService, pods: readonly string[]): KubernetesObject {
  const port = s.spec.ports?.[0];
  return makeEndpointSlice({
    service: s.spec.name,
    namespace: s.spec.namespace ?? 'default',
    // A fixed name, so scaling updates the same object (as the EndpointSlice controller would).
    name: `${s.spec.name}-demo`,
    endpoints: pods.map((name) => {
      const p = podPlan(name);
      return { ip: p.ipv4, nodeName: NODE_NAMES[p.node] };
    }),
    ports: [{ ...(port?.name !== undefined ? { name: port.name } : {}), port: ECHO_PORT, protocol: port?.protocol ?? 'TCP' }],
  });
}

/** The `web` EndpointSlice, with or without the scaled pod. */
export function webSlice(scaledUp: boolean): KubernetesObject {
  const s = SERVICES.find((x) => x.probe.service === WEB);
  if (!s) throw new Error('demo scenario: no web service');
  return sliceFor(s, endpointPods(WEB, scaledUp));
}

/** Every object the stand-in apiserver starts with: the two Nodes, the Services, their slices. */
export function initialObjects(): KubernetesObject[] {
  const nodes = (['a', 'b'] as const).map((k) =>
    makeNode({ name: NODE_NAMES[k], internalIPs: [NODE_PLANS[k].ipv4], podCIDRs: [NODE_PLANS[k].podCIDRv4] }),
  );
  return [
    ...nodes,
    ...SERVICES.flatMap((s) => [makeService({ namespace: 'default', ...s.spec }), sliceFor(s, endpointPods(s.probe.service, false))]),
  ];
}

/** "198.19.0.10:80/TCP" */
export const probeTarget = (p: Probe): string => `${p.ip}:${p.port}/${p.protocol}`;
