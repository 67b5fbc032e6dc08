// What the informers keep of an object (proxy/watch/compact.ts): no managedFields, arrays copied
// to their exact size, everything else unchanged (a resync re-delivers cached objects).

import { describe, expect, it } from 'vitest';
import { V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { compactObject } from '../../../proxy/watch/compact.js';
import { stripEndpointSlice } from '../../../proxy/watch/strip.js';

function sliceJson(): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-abc',
      namespace: 'default',
      resourceVersion: '7',
      creationTimestamp: '2026-11-24T08:00:00Z',
      labels: { 'kubernetes.io/service-name': 'web' },
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:endpoints': {} } }],
    },
    addressType: 'IPv4',
    endpoints: [
      { addresses: ['198.18.1.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-a', hints: { forZones: [{ name: 'z1' }] } },
      { addresses: ['198.18.1.2'], conditions: { ready: false, serving: true, terminating: true }, zone: 'z2' },
    ],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

describe('compactObject', () => {
  it('drops managedFields and keeps every other field, typed values included', () => {
    const raw = sliceJson();
    const typed = ObjectSerializer.deserialize(raw, 'V1EndpointSlice', '') as V1EndpointSlice;
    expect(typed.metadata?.managedFields).toHaveLength(1);
    const out = compactObject(typed);
    expect(out).toBe(typed); // compacted in place: the informer caches this very object
    expect(out).toBeInstanceOf(V1EndpointSlice);
    expect(out.metadata?.managedFields).toBeUndefined();
    expect(out.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(out.metadata?.creationTimestamp?.toISOString()).toBe('2026-11-24T08:00:00.000Z');
    const expected = ObjectSerializer.deserialize(sliceJson(), 'V1EndpointSlice', '') as V1EndpointSlice;
    delete expected.metadata!.managedFields;
    expect(ObjectSerializer.serialize(out, 'V1EndpointSlice', '')).toEqual(ObjectSerializer.serialize(expected, 'V1EndpointSlice', ''));
    expect(out.endpoints[1]?.conditions).toEqual({ ready: false, serving: true, terminating: true });
    expect(out.endpoints[0]?.hints?.forZones?.[0]?.name).toBe('z1');
  });

  it('replaces every array, nested ones too, by a copy with the same elements', () => {
    const typed = ObjectSerializer.deserialize(sliceJson(), 'V1EndpointSlice', '') as V1EndpointSlice;
    const before = { endpoints: typed.endpoints, addresses: typed.endpoints[0]!.addresses, zones: typed.endpoints[0]!.hints!.forZones! };
    compactObject(typed);
    expect(typed.endpoints).not.toBe(before.endpoints);
    expect(typed.endpoints[0]!.addresses).not.toBe(before.addresses);
    expect(typed.endpoints[0]!.hints!.forZones).not.toBe(before.zones);
    expect(typed.endpoints.map((e) => e.addresses)).toEqual([['198.18.1.1'], ['198.18.1.2']]);
    // The endpoint objects themselves are kept (their own arrays were compacted in place).
    expect(typed.endpoints[1]).toBe(before.endpoints[1]);
  });

  it('leaves objects without metadata or arrays alone', () => {
    const svc = { spec: { clusterIP: '198.19.0.10', ports: [] } } as unknown as V1Service;
    expect(compactObject(svc)).toEqual({ spec: { clusterIP: '198.19.0.10', ports: [] } });
  });

  it('endpoints with the same conditions share one frozen object; the JSON stays byte-identical', () => {
    const eps = [
      { addresses: ['198.18.1.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-a' },
      { addresses: ['198.18.1.2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-a' },
      { addresses: ['198.18.1.3'], conditions: { ready: false, serving: true, terminating: true } },
      // Same values, other key order: not the same object (its JSON would differ).
      { addresses: ['198.18.1.4'], conditions: { serving: true, ready: true, terminating: false } },
    ];
    const raw = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', namespace: 'default' }, addressType: 'IPv4', endpoints: eps };
    const before = JSON.stringify(raw);
    const other = compactObject(JSON.parse(before) as V1EndpointSlice, stripEndpointSlice);
    const out = compactObject(JSON.parse(before) as V1EndpointSlice, stripEndpointSlice);
    expect(JSON.stringify(out)).toBe(before);
    const c = out.endpoints.map((e) => e.conditions);
    expect(c[1]).toBe(c[0]);
    expect(other.endpoints[0]!.conditions).toBe(c[0]); // across objects too
    expect(c[2]).not.toBe(c[0]);
    expect(c[3]).not.toBe(c[0]);
    expect(c[3]).toEqual(c[0]);
    expect(Object.isFrozen(c[0])).toBe(true);
  });
});
