// What the informers drop of each object (proxy/watch/strip.ts) changes nothing the daemon
// computes: the model built from stripped objects equals the one built from the full objects
// (property-based over random Services, EndpointSlices, v1 Endpoints and Nodes carrying the fields
// real clusters add), and the dropped fields are really gone.

import fc from 'fast-check';
import type { V1EndpointSlice, V1Endpoints, V1Node, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { servicesJson } from '../../../proxy/debug-state.js';
import { ModelStore } from '../../../proxy/model/store.js';
import { compactObject } from '../../../proxy/watch/compact.js';
import { LAST_APPLIED_ANNOTATION, stripEndpointSlice, stripEndpoints, stripNode, stripService, type Strip } from '../../../proxy/watch/strip.js';

const NODE = 'node-a';
const ip4 = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 250 })).map(([a, b]) => `198.18.${a}.${b}`);
const lastApplied = fc.option(fc.string({ maxLength: 40 }).map((s) => JSON.stringify({ kind: 'Service', spec: s })), { nil: undefined });
const extraMeta = fc.record({
  lastApplied,
  owner: fc.boolean(),
  managed: fc.boolean(),
});

function meta(name: string, x: { lastApplied: string | undefined; owner: boolean; managed: boolean }, labels: Record<string, string>, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    resourceVersion: '7',
    creationTimestamp: '2026-12-01T00:00:00Z',
    labels,
    annotations: { ...annotations, ...(x.lastApplied !== undefined ? { [LAST_APPLIED_ANNOTATION]: x.lastApplied } : {}) },
    ...(x.owner ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: `uid-${name}`, controller: true }] } : {}),
    ...(x.managed ? { managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }] } : {}),
  };
}

const serviceArb = fc.record({
  i: fc.integer({ min: 0, max: 5 }),
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
  ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 3 }),
  ingress: fc.array(ip4, { maxLength: 2 }),
  legacyRanges: fc.option(fc.constantFrom('203.0.113.0/24', '203.0.113.0/24, 198.51.100.0/24', 'nope'), { nil: undefined }),
  etpLocal: fc.boolean(),
  affinity: fc.boolean(),
  conditions: fc.boolean(),
  x: extraMeta,
});

const endpointArb = fc.record({
  ip: ip4,
  ready: fc.option(fc.boolean(), { nil: undefined }),
  serving: fc.option(fc.boolean(), { nil: undefined }),
  terminating: fc.option(fc.boolean(), { nil: undefined }),
  nodeName: fc.option(fc.constantFrom(NODE, 'node-b'), { nil: undefined }),
  zone: fc.option(fc.constantFrom('z1', 'z2'), { nil: undefined }),
  hint: fc.option(fc.constantFrom('z1', 'z2'), { nil: undefined }),
  targetRef: fc.boolean(),
});

const sliceArb = fc.record({ svc: fc.integer({ min: 0, max: 5 }), eps: fc.array(endpointArb, { maxLength: 6 }), x: extraMeta, trigger: fc.boolean() });

const nodeArb = fc.record({
  addrs: fc.array(fc.record({ type: fc.constantFrom('InternalIP', 'ExternalIP', 'Hostname'), address: fc.oneof(ip4, fc.constant('bad')) }), { maxLength: 3 }),
  cidr: fc.option(fc.constantFrom('198.18.16.0/24', 'nope'), { nil: undefined }),
  zone: fc.option(fc.constantFrom('z1', 'z2'), { nil: undefined }),
  images: fc.integer({ min: 0, max: 5 }),
  tainted: fc.boolean(),
  x: extraMeta,
});

type S = typeof serviceArb extends fc.Arbitrary<infer T> ? T : never;
type E = typeof sliceArb extends fc.Arbitrary<infer T> ? T : never;
type N = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never;

function service(s: S): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(`svc-${s.i}`, s.x, {}, s.legacyRanges !== undefined ? { 'service.beta.kubernetes.io/load-balancer-source-ranges': s.legacyRanges } : {}),
    spec: {
      type: s.type,
      clusterIP: `198.19.0.${s.i + 10}`,
      clusterIPs: [`198.19.0.${s.i + 10}`],
      ports: s.ports.map((p, k) => ({ name: `p${k}`, port: p, protocol: 'TCP', targetPort: 8080, ...(s.type !== 'ClusterIP' ? { nodePort: 30000 + s.i * 4 + k } : {}) })),
      ...(s.etpLocal && s.type !== 'ClusterIP' ? { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 + s.i } : {}),
      ...(s.affinity ? { sessionAffinity: 'ClientIP' } : {}),
    },
    status: {
      loadBalancer: s.type === 'LoadBalancer' ? { ingress: s.ingress.map((ip) => ({ ip })) } : {},
      ...(s.conditions ? { conditions: [{ type: 'Ready', status: 'True', reason: 'x', message: 'y', lastTransitionTime: '2026-12-01T00:00:00Z' }] } : {}),
    },
  };
}

function slice(e: E, k: number): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: meta(`svc-${e.svc}-${k}`, e.x, { 'kubernetes.io/service-name': `svc-${e.svc}` }, e.trigger ? { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-01T00:00:00Z' } : {}),
    addressType: 'IPv4',
    endpoints: e.eps.map((ep, n) => ({
      addresses: [ep.ip],
      conditions: { ...(ep.ready !== undefined ? { ready: ep.ready } : {}), ...(ep.serving !== undefined ? { serving: ep.serving } : {}), ...(ep.terminating !== undefined ? { terminating: ep.terminating } : {}) },
      ...(ep.nodeName !== undefined ? { nodeName: ep.nodeName } : {}),
      ...(ep.zone !== undefined ? { zone: ep.zone } : {}),
      ...(ep.hint !== undefined ? { hints: { forZones: [{ name: ep.hint }] } } : {}),
      ...(ep.targetRef ? { targetRef: { kind: 'Pod', namespace: 'default', name: `pod-${n}`, uid: `uid-pod-${n}` } } : {}),
    })),
    ports: [{ name: 'p0', port: 8080, protocol: 'TCP' }],
  };
}

function endpoints(e: E): Record<string, unknown> {
  const ref = (n: number): Record<string, unknown> => ({ targetRef: { kind: 'Pod', namespace: 'default', name: `pod-${n}` } });
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: meta(`svc-${e.svc}`, e.x, {}),
    subsets: [
      {
        addresses: e.eps.filter((ep) => ep.ready !== false).map((ep, n) => ({ ip: ep.ip, ...(ep.nodeName ? { nodeName: ep.nodeName } : {}), ...(ep.targetRef ? ref(n) : {}) })),
        notReadyAddresses: e.eps.filter((ep) => ep.ready === false).map((ep, n) => ({ ip: ep.ip, ...(ep.targetRef ? ref(n) : {}) })),
        ports: [{ name: 'p0', port: 8080, protocol: 'TCP' }],
      },
    ],
  };
}

function node(n: N): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { ...meta(NODE, n.x, { 'kubernetes.io/hostname': NODE, ...(n.zone ? { 'topology.kubernetes.io/zone': n.zone } : {}) }), namespace: undefined },
    spec: { ...(n.cidr ? { podCIDR: n.cidr, podCIDRs: [n.cidr] } : {}), ...(n.tainted ? { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } : {}) },
    status: {
      addresses: n.addrs,
      images: Array.from({ length: n.images }, (_, k) => ({ names: [`registry.example/image-${k}:v1`], sizeBytes: 1000 + k })),
      conditions: [{ type: 'Ready', status: 'True' }],
      nodeInfo: { kubeletVersion: 'v1.26.0', osImage: 'Linux' },
      capacity: { cpu: '2', memory: '4Gi' },
    },
  };
}

/** What the daemon computes from these objects: the model (as /debug/state shows it), node, rejections. */
function model(useEndpoints: boolean, objs: { services: object[]; eps: object[]; node: object }): unknown {
  const store = new ModelStore({ nodeName: NODE });
  store.upsertNode(objs.node as V1Node);
  for (const s of objs.services) store.upsertService(s as V1Service);
  for (const e of objs.eps) {
    if (useEndpoints) store.upsertEndpoints(e as V1Endpoints);
    else store.upsertEndpointSlice(e as V1EndpointSlice);
  }
  const { state } = store.snapshot();
  // A rejection's time is when it was recorded, not part of what was computed.
  const rejected = store.rejections().map(({ time: _t, ...r }) => r);
  return { services: servicesJson(state), node: state.node, rejected };
}

const stripped = (o: object, strip: Strip): object => compactObject(structuredClone(o), strip);

describe('strip: the model from stripped objects equals the model from full objects', () => {
  for (const useEndpoints of [false, true]) {
    it(useEndpoints ? 'Services + v1 Endpoints + Node' : 'Services + EndpointSlices + Node', () => {
      fc.assert(
        fc.property(fc.array(serviceArb, { maxLength: 5 }), fc.array(sliceArb, { maxLength: 5 }), nodeArb, (ss, es, n) => {
          const full = {
            services: ss.map(service),
            eps: useEndpoints ? es.map(endpoints) : es.map(slice),
            node: node(n),
          };
          const lean = {
            services: full.services.map((o) => stripped(o, stripService)),
            eps: full.eps.map((o) => stripped(o, useEndpoints ? stripEndpoints : stripEndpointSlice)),
            node: stripped(full.node, stripNode),
          };
          expect(model(useEndpoints, lean)).toEqual(model(useEndpoints, full));
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('strip: what is dropped', () => {
  it('last-applied-configuration, managedFields, ownerReferences, targetRef, Node status but addresses, Service conditions', () => {
    const x = { lastApplied: '{"big":1}', owner: true, managed: true };
    const svc = stripped(service({ i: 1, type: 'LoadBalancer', ports: [80], ingress: ['198.18.1.1'], legacyRanges: undefined, etpLocal: false, affinity: false, conditions: true, x }), stripService) as V1Service;
    expect(svc.metadata?.annotations).toEqual({});
    expect(svc.metadata).not.toHaveProperty('managedFields');
    expect(svc.metadata).not.toHaveProperty('ownerReferences');
    expect(svc.status).toEqual({ loadBalancer: { ingress: [{ ip: '198.18.1.1' }] } });
    const ep: E['eps'][number] = { ip: '198.18.1.2', ready: true, serving: undefined, terminating: undefined, nodeName: NODE, zone: 'z1', hint: undefined, targetRef: true };
    const sl = stripped(slice({ svc: 1, eps: [ep], x, trigger: true }, 0), stripEndpointSlice) as V1EndpointSlice;
    expect(sl.endpoints[0]).toEqual({ addresses: ['198.18.1.2'], conditions: { ready: true }, nodeName: NODE, zone: 'z1' });
    expect(sl.metadata?.annotations).toEqual({ 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-01T00:00:00Z' });
    const v1 = stripped(endpoints({ svc: 1, eps: [ep], x, trigger: false }), stripEndpoints) as V1Endpoints;
    expect(v1.subsets?.[0]?.addresses?.[0]).toEqual({ ip: '198.18.1.2', nodeName: NODE });
    const nd = stripped(node({ addrs: [{ type: 'InternalIP', address: '198.18.0.1' }], cidr: undefined, zone: undefined, images: 3, tainted: false, x }), stripNode) as V1Node;
    expect(nd.status).toEqual({ addresses: [{ type: 'InternalIP', address: '198.18.0.1' }] });
  });
});
