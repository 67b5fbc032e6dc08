// After a slice changes, the model keeps one Endpoint object per endpoint: the new version's
// conversion (cached with the slice) takes the previous version's unchanged Endpoint objects,
// which the model's lists keep too. With a copy in each, every unchanged endpoint of a changed
// slice was held twice: +7,931 Endpoint objects after 10,000 changes at 1,000 services x 10 in the
// daemon's heap (issue #18, RSS under churn). Counting live objects needs a heap snapshot, so a
// child node builds a store from the built module (dist/) and counts the model's Endpoint objects
// ({ ip, family, ready, serving, terminating, ... }) in a snapshot of its own heap.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './daemon-process.js';

const STORE_JS = pathToFileURL(join(REPO_ROOT, 'dist/proxy/model/store.js')).href;

const CHILD = `
const { ModelStore } = await import(${JSON.stringify(STORE_JS)});
const v8 = await import('node:v8');
const SERVICES = 200, EPS = 10;
let rv = 1;
const service = (i) => ({ kind: 'Service', metadata: { name: 's' + i, namespace: 'ns', resourceVersion: String(rv++) },
  spec: { type: 'ClusterIP', clusterIP: '198.19.1.' + (i % 250), clusterIPs: ['198.19.1.' + (i % 250)], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } });
const slice = (i, first) => ({ kind: 'EndpointSlice', addressType: 'IPv4',
  metadata: { name: 's' + i + '-x', namespace: 'ns', labels: { 'kubernetes.io/service-name': 's' + i }, resourceVersion: String(rv++) },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: Array.from({ length: EPS }, (_, k) => ({ addresses: ['198.18.' + (first + k) + '.' + (i % 250)], conditions: { ready: true }, nodeName: 'n' + ((first + k) % 3) })) });
const store = new ModelStore({ nodeName: 'n0' });
for (let i = 0; i < SERVICES; i++) { store.upsertService(service(i)); store.upsertEndpointSlice(slice(i, 0)); }
store.snapshot();
// One endpoint replaced in every slice (a rolling update's step), twice: v1 -> v2 -> v3.
for (const first of [1, 2]) {
  for (let i = 0; i < SERVICES; i++) store.upsertEndpointSlice(slice(i, first));
  store.snapshot();
}
const live = [...store.snapshot().state.endpoints.values()].reduce((a, l) => a + l.length, 0);
globalThis.gc();
const snap = JSON.parse(await new Promise((res) => { let s = ''; v8.getHeapSnapshot().on('data', (c) => (s += c)).on('end', () => res(s)); }));
const m = snap.snapshot.meta, nf = m.node_fields.length, ef = m.edge_fields.length;
const iType = m.node_fields.indexOf('type'), iEc = m.node_fields.indexOf('edge_count');
const eType = m.edge_fields.indexOf('type'), eName = m.edge_fields.indexOf('name_or_index');
const objectType = m.node_types[0].indexOf('object'), propType = m.edge_types[0].indexOf('property');
let endpoints = 0;
for (let n = 0, e = 0; n < snap.nodes.length; n += nf) {
  const ec = snap.nodes[n + iEc];
  if (snap.nodes[n + iType] === objectType) {
    const props = new Set();
    for (let k = e; k < e + ec; k++) if (snap.edges[k * ef + eType] === propType) props.add(snap.strings[snap.edges[k * ef + eName]]);
    if (props.has('ip') && props.has('family') && props.has('ready') && props.has('serving') && props.has('terminating')) endpoints++;
  }
  e += ec;
}
process.stdout.write(JSON.stringify({ live, endpoints }));
`;

describe('model: one Endpoint object per endpoint after slices change', () => {
  it('the heap holds as many Endpoint objects as the model has endpoints', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD], { encoding: 'utf8', maxBuffer: 1 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const { live, endpoints } = JSON.parse(r.stdout) as { live: number; endpoints: number };
    expect(live).toBe(2000);
    // + at most one: V8 keeps the object literal's boilerplate (the conversion's endpoint literal),
    // an object of the same shape.
    expect(endpoints - live).toBeGreaterThanOrEqual(0);
    expect(endpoints - live).toBeLessThanOrEqual(1);
  });
});
