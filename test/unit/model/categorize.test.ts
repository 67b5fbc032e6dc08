import { describe, expect, it } from 'vitest';
import { categorizeEndpoints } from '../../../proxy/model/categorize.js';
import type { Endpoint, NodeInfo, ServicePort } from '../../../proxy/model/types.js';
import { ep, nodeInfo, sp } from './fixtures.js';

const local = { nodeName: 'me', isLocal: true };
const terminating = { ready: false, serving: true, terminating: true };
const notServing = { ready: false, serving: false, terminating: true };

interface Case {
  name: string;
  sp?: Partial<ServicePort>;
  node?: Partial<NodeInfo>;
  eps: Endpoint[];
  cluster: string[];
  local: string[] | null;
  all: string[];
  any: boolean;
}

const nodePortLocal = { type: 'NodePort' as const, nodePort: 30080, externalTrafficPolicy: 'Local' as const };

const cases: Case[] = [
  { name: 'no endpoints', eps: [], cluster: [], local: null, all: [], any: false },
  {
    name: 'cluster policy uses ready endpoints only',
    eps: [ep('198.18.0.1'), ep('198.18.0.2', { ready: false, serving: false }), ep('198.18.0.3', terminating)],
    cluster: ['198.18.0.1'],
    local: null,
    all: ['198.18.0.1'],
    any: true,
  },
  {
    name: 'falls back to serving+terminating when nothing is ready',
    eps: [ep('198.18.0.2', { ready: false, serving: false }), ep('198.18.0.3', terminating), ep('198.18.0.4', notServing)],
    cluster: ['198.18.0.3'],
    local: null,
    all: ['198.18.0.3'],
    any: true,
  },
  {
    name: 'non-serving terminating endpoints are never used',
    eps: [ep('198.18.0.4', notServing)],
    cluster: [],
    local: null,
    all: [],
    any: false,
  },
  {
    name: 'internalTrafficPolicy Local: only local endpoints, hasAny reflects remote ones',
    sp: { internalTrafficPolicy: 'Local' },
    eps: [ep('198.18.0.1'), ep('198.18.0.2', local)],
    cluster: [],
    local: ['198.18.0.2'],
    all: ['198.18.0.2'],
    any: true,
  },
  {
    name: 'internalTrafficPolicy Local with only remote endpoints: none reachable but hasAny',
    sp: { internalTrafficPolicy: 'Local' },
    eps: [ep('198.18.0.1')],
    cluster: [],
    local: [],
    all: [],
    any: true,
  },
  {
    name: 'local terminating fallback is per locality (remote ready does not block it)',
    sp: { internalTrafficPolicy: 'Local' },
    eps: [ep('198.18.0.1'), ep('198.18.0.2', { ...local, ...terminating })],
    cluster: [],
    local: ['198.18.0.2'],
    all: ['198.18.0.2'],
    any: true,
  },
  {
    name: 'externalTrafficPolicy Local on NodePort: cluster for internal, local for external, union',
    sp: nodePortLocal,
    eps: [ep('198.18.0.1'), ep('198.18.0.2', local)],
    cluster: ['198.18.0.1', '198.18.0.2'],
    local: ['198.18.0.2'],
    all: ['198.18.0.1', '198.18.0.2'],
    any: true,
  },
  {
    name: 'union keeps local terminating endpoints next to cluster ready ones',
    sp: nodePortLocal,
    eps: [ep('198.18.0.1'), ep('198.18.0.2', { ...local, ...terminating })],
    cluster: ['198.18.0.1'],
    local: ['198.18.0.2'],
    all: ['198.18.0.1', '198.18.0.2'],
    any: true,
  },
  {
    name: 'externalTrafficPolicy Local is meaningless on ClusterIP',
    sp: { externalTrafficPolicy: 'Local', externalIPs: ['198.19.5.5'] },
    eps: [ep('198.18.0.1'), ep('198.18.0.2', local)],
    cluster: ['198.18.0.1', '198.18.0.2'],
    local: null,
    all: ['198.18.0.1', '198.18.0.2'],
    any: true,
  },
  {
    name: 'zone hints honoured when all endpoints have them and one matches',
    node: { zone: 'a' },
    eps: [ep('198.18.0.1', { zoneHints: ['a'] }), ep('198.18.0.2', { zoneHints: ['b'] })],
    cluster: ['198.18.0.1'],
    local: null,
    all: ['198.18.0.1'],
    any: true,
  },
  {
    name: 'zone hints ignored when one ready endpoint lacks hints',
    node: { zone: 'a' },
    eps: [ep('198.18.0.1', { zoneHints: ['a'] }), ep('198.18.0.2')],
    cluster: ['198.18.0.1', '198.18.0.2'],
    local: null,
    all: ['198.18.0.1', '198.18.0.2'],
    any: true,
  },
  {
    name: 'zone hints ignored when no endpoint is hinted for this zone',
    node: { zone: 'c' },
    eps: [ep('198.18.0.1', { zoneHints: ['a'] }), ep('198.18.0.2', { zoneHints: ['b'] })],
    cluster: ['198.18.0.1', '198.18.0.2'],
    local: null,
    all: ['198.18.0.1', '198.18.0.2'],
    any: true,
  },
  {
    name: 'zone hints ignored when node has no zone',
    eps: [ep('198.18.0.1', { zoneHints: ['a'] }), ep('198.18.0.2', { zoneHints: ['b'] })],
    cluster: ['198.18.0.1', '198.18.0.2'],
    local: null,
    all: ['198.18.0.1', '198.18.0.2'],
    any: true,
  },
  {
    name: 'node hints win over zone hints',
    node: { zone: 'a' },
    eps: [
      ep('198.18.0.1', { zoneHints: ['a'], nodeHints: ['other'] }),
      ep('198.18.0.2', { zoneHints: ['a'], nodeHints: ['me'] }),
    ],
    cluster: ['198.18.0.2'],
    local: null,
    all: ['198.18.0.2'],
    any: true,
  },
  {
    name: 'not-ready endpoints without hints do not disable topology',
    node: { zone: 'a' },
    eps: [ep('198.18.0.1', { zoneHints: ['a'] }), ep('198.18.0.2', { zoneHints: ['b'] }), ep('198.18.0.3', { ready: false, serving: false })],
    cluster: ['198.18.0.1'],
    local: null,
    all: ['198.18.0.1'],
    any: true,
  },
  {
    name: 'topology is ignored on the terminating fallback',
    node: { zone: 'a' },
    eps: [ep('198.18.0.1', { ...terminating, zoneHints: ['a'] }), ep('198.18.0.2', { ...terminating, zoneHints: ['b'] })],
    cluster: ['198.18.0.1', '198.18.0.2'],
    local: null,
    all: ['198.18.0.1', '198.18.0.2'],
    any: true,
  },
];

describe('categorizeEndpoints', () => {
  it.each(cases)('$name', (c) => {
    const r = categorizeEndpoints(sp(c.sp), c.eps, nodeInfo(c.node));
    const ips = (l: Endpoint[]): string[] => l.map((e) => e.ip);
    expect(ips(r.clusterEndpoints)).toEqual(c.cluster);
    // null: the port uses no Local policy, so no local list is computed at all.
    expect(ips(r.localEndpoints)).toEqual(c.local ?? []);
    expect(ips(r.allReachableEndpoints).sort()).toEqual(c.all);
    expect(r.hasAnyEndpoints).toBe(c.any);
  });
});
