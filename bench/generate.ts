// Deterministic synthetic clusters for the benchmarks: S Services x E endpoints as the Kubernetes
// objects a real control plane would hold, built with the test apiserver's builders.
//
// The mix (decided per service by a seeded PRNG, so the same seed gives the same cluster):
//   ~80% ClusterIP, ~12% NodePort, ~6% LoadBalancer (1 ingress IP, a third with source ranges),
//   ~2% ClusterIP with internalTrafficPolicy Local; ~1 in 8 NodePort/LB services use
//   externalTrafficPolicy Local (with a healthCheckNodePort); ~3% use ClientIP affinity.
// Endpoints are spread over `nodes` nodes (one of them the benchmarked node), ~2% not ready.
//
// Addresses: services 198.19.x.y (one IP each, up to 65,000 services), pods 198.18.x.y (from
// 198.18.16.0 up; pod IPs repeat after ~60k endpoints, as one pod backing several services would),
// LB ingress 198.18.200.0/22 is never used for pods.

import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { makeEndpointSlice, makeNode, makeService, type EndpointSpec, type ServiceSpec } from '../test/apiserver/index.js';

export const BENCH_NODE = 'bench-node';
export const BENCH_NODE_IP = '198.18.0.10';
export const BENCH_NAMESPACE = 'bench';
const TARGET_PORT = 8080;

export interface ClusterSpec {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly seed?: number;
  /** Nodes endpoints are spread over, including BENCH_NODE. Default 20. */
  readonly nodes?: number;
}

export interface GeneratedService {
  readonly index: number;
  readonly name: string;
  readonly service: V1Service;
  readonly slice: V1EndpointSlice;
  /** The endpoints in `slice`, for building modified versions. */
  readonly endpoints: readonly EndpointSpec[];
}

export interface GeneratedCluster {
  readonly spec: Required<ClusterSpec>;
  readonly nodes: readonly V1Node[];
  readonly services: readonly GeneratedService[];
  /** Counts by kind, for the report. */
  readonly mix: Readonly<Record<string, number>>;
}

/** mulberry32: small, fast, good enough for shuffling a benchmark. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const nodeName = (i: number): string => (i === 0 ? BENCH_NODE : `node-${String(i).padStart(3, '0')}`);
export const serviceName = (i: number): string => `svc-${String(i).padStart(5, '0')}`;

/** 198.19.x.y for service i (never .0). */
export function serviceIP(i: number): string {
  const n = i + 1;
  return `198.19.${n >> 8}.${n & 255}`;
}

/** Pod IP number k (198.18.16.1 .. 198.18.199.254, repeating). */
export function podIP(k: number): string {
  const n = k % (184 * 254);
  return `198.18.${16 + Math.floor(n / 254)}.${(n % 254) + 1}`;
}

/** Deterministic uid so identical inputs give identical objects apart from timestamps. */
function uidFor(kind: string, name: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${kind}/${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const hex = h.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
}

export function generateCluster(input: ClusterSpec): GeneratedCluster {
  const spec: Required<ClusterSpec> = { seed: 1, nodes: 20, ...input };
  const rnd = prng(spec.seed);
  const nodes = Array.from({ length: spec.nodes }, (_, i) =>
    makeNode({
      name: nodeName(i),
      internalIPs: [`198.18.0.${10 + i}`],
      podCIDRs: [`198.18.${16 + i}.0/24`],
      zone: `zone-${i % 3}`,
    }),
  );
  for (const n of nodes) n.metadata!.uid = uidFor('Node', n.metadata!.name!);

  const mix: Record<string, number> = {};
  const count = (k: string): void => void (mix[k] = (mix[k] ?? 0) + 1);
  let nextNodePort = 30000;
  let nextHealthPort = 32000;
  let nextLB = 0;
  let nextPod = 0;
  const services: GeneratedService[] = [];
  for (let i = 0; i < spec.services; i++) {
    const name = serviceName(i);
    const r = rnd();
    const type: ServiceSpec['type'] = r < 0.8 || nextNodePort >= 31990 ? 'ClusterIP' : r < 0.92 ? 'NodePort' : 'LoadBalancer';
    const external = type !== 'ClusterIP';
    const extLocal = external && rnd() < 0.125 && nextHealthPort < 32767;
    const intLocal = !external && rnd() < 0.025;
    const affinity = rnd() < 0.03;
    const lb = type === 'LoadBalancer' ? [`198.18.${200 + ((nextLB >> 8) & 3)}.${(nextLB++ & 255) || 1}`] : undefined;
    const ranges = lb && rnd() < 0.33 ? ['203.0.113.0/24', '198.51.100.0/24'] : undefined;
    count(type!);
    if (extLocal) count('externalTrafficPolicy=Local');
    if (intLocal) count('internalTrafficPolicy=Local');
    if (affinity) count('ClientIP affinity');
    if (ranges) count('loadBalancerSourceRanges');
    const service = makeService({
      name,
      namespace: BENCH_NAMESPACE,
      type,
      clusterIP: serviceIP(i),
      ports: [{ name: 'http', port: 80, targetPort: TARGET_PORT, ...(external ? { nodePort: nextNodePort++ } : {}) }],
      ...(lb ? { loadBalancerIngressIPs: lb } : {}),
      ...(ranges ? { loadBalancerSourceRanges: ranges } : {}),
      ...(extLocal ? { externalTrafficPolicy: 'Local' as const, healthCheckNodePort: nextHealthPort++ } : {}),
      ...(intLocal ? { internalTrafficPolicy: 'Local' as const } : {}),
      ...(affinity ? { sessionAffinity: 'ClientIP' as const } : {}),
    });
    service.metadata!.uid = uidFor('Service', name);
    const endpoints: EndpointSpec[] = [];
    for (let e = 0; e < spec.endpointsPerService; e++) endpoints.push(endpointSpec(nextPod++, rnd, spec.nodes));
    services.push({ index: i, name, service, slice: sliceFor(name, endpoints), endpoints });
  }
  return { spec, nodes, services, mix };
}

function endpointSpec(k: number, rnd: () => number, nodes: number): EndpointSpec {
  const node = Math.floor(rnd() * nodes);
  return { ip: podIP(k), nodeName: nodeName(node), zone: `zone-${node % 3}`, ready: rnd() >= 0.02 };
}

/** The EndpointSlice of service `name` with exactly `endpoints` (fixed name so updates replace it). */
export function sliceFor(name: string, endpoints: readonly EndpointSpec[], triggerTime?: Date): V1EndpointSlice {
  const slice = makeEndpointSlice({
    service: name,
    namespace: BENCH_NAMESPACE,
    name: `${name}-abcde`,
    endpoints,
    ports: [{ name: 'http', port: TARGET_PORT }],
    ...(triggerTime ? { triggerTime } : {}),
  });
  slice.metadata!.uid = uidFor('EndpointSlice', name);
  return slice;
}

/** A fresh pod IP outside the generated range of the first `used` endpoints (for added endpoints). */
export function extraEndpoint(seq: number, onNode = 1): EndpointSpec {
  const n = seq % (254 * 250);
  return { ip: `198.18.${208 + Math.floor(n / 254) % 40}.${(n % 254) + 1}`, nodeName: nodeName(onNode), ready: true };
}

/** A service beyond the generated ones (index >= S), with its slice, for "service add". */
export function extraService(index: number, endpointsPerService: number): GeneratedService {
  const name = serviceName(index);
  const service = makeService({
    name,
    namespace: BENCH_NAMESPACE,
    clusterIP: serviceIP(index),
    ports: [{ name: 'http', port: 80, targetPort: TARGET_PORT }],
  });
  service.metadata!.uid = uidFor('Service', name);
  const endpoints = Array.from({ length: endpointsPerService }, (_, e) => extraEndpoint(index * 64 + e));
  return { index, name, service, slice: sliceFor(name, endpoints), endpoints };
}
