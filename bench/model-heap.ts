// Heap of the part every mode shares (issue #18), per service port and per endpoint: the
// informers' cached objects (wire form: JSON, then compactObject with the kind's strip, as
// proxy/watch caches them), the model store's indexes and the snapshot (ServicePorts, endpoint
// lists, persistent maps). No dataplane. Each layer is measured as the retained heap it adds
// (forced GCs), at E = 1 and E = 10 endpoints per service; the two give bytes per endpoint
// (the slope) and per service port without endpoints (the intercept). One port per Service.
//
//   node --expose-gc dist/bench/model-heap.js [services=10000] [mode]
//
// With a mode (iptables, ipvs, userspace, nftables), one more layer: that mode's dataplane after
// its first full sync (bench/inprocess.ts modeHarness: the daemon's dataplane on doubles that
// record instead of touching the kernel), so a mode's own heap per service port and per endpoint
// shows beside the shared part's (issue #18; nftables mode's record was the largest, issue #13).
//
// Each E runs in its own child process so one run's garbage and caches never count in another.

import { spawnSync } from 'node:child_process';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { BENCH_NODE, generateCluster } from './generate.js';
import { INPROCESS_MODES, modeHarness, wireCluster, type InProcessMode } from './inprocess.js';
import { ModelStore } from '../proxy/model/store.js';

interface Layers {
  readonly cache: number;
  readonly store: number;
  readonly snapshot: number;
  /** The mode's dataplane after its first full sync (0 without a mode). */
  readonly dataplane: number;
}

const heapNow = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** Only the wire copies leave this function: the builders' objects and specs become garbage. */
function wireObjects(services: number, endpoints: number): { nodes: V1Node[]; objects: (readonly [V1Service, V1EndpointSlice])[] } {
  const wire = wireCluster(generateCluster({ services, endpointsPerService: endpoints, seed: 1 }));
  return { nodes: [...wire.nodes], objects: wire.services.map((s) => [s.service, s.slice] as const) };
}

async function measure(services: number, endpoints: number, mode: InProcessMode | undefined): Promise<Layers> {
  const h0 = heapNow();
  const { nodes, objects } = wireObjects(services, endpoints);
  const h1 = heapNow();
  const harness = mode ? await modeHarness(mode) : undefined;
  const store = harness?.store ?? new ModelStore({ nodeName: BENCH_NODE });
  for (const n of nodes) store.upsertNode(n);
  for (const [svc, slice] of objects) {
    store.upsertService(svc);
    store.upsertEndpointSlice(slice);
  }
  const h2 = heapNow();
  const snap = store.snapshot();
  const h3 = heapNow();
  if (snap.state.services.size !== services) throw new Error(`expected ${services} service ports, got ${snap.state.services.size}`);
  // The sync loop takes the same snapshot again (nothing changed since: the same object).
  await harness?.sync('initial');
  const h4 = heapNow();
  void [objects, store, snap, harness];
  return { cache: h1 - h0, store: h2 - h1, snapshot: h3 - h2, dataplane: h4 - h3 };
}

const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const mode = process.argv[5] as InProcessMode | undefined;
  process.stdout.write(JSON.stringify(await measure(Number(process.argv[3]), Number(process.argv[4]), mode)) + '\n');
  process.exit(0);
} else if (process.argv[1] === SELF) {
  const services = Number(process.argv[2] ?? 10_000);
  const mode = process.argv[3] as InProcessMode | undefined;
  if (mode !== undefined && !INPROCESS_MODES.includes(mode)) throw new Error(`mode must be one of ${INPROCESS_MODES.join(', ')}`);
  const run = (e: number): Layers => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=6144', SELF, '--child', String(services), String(e), ...(mode ? [mode] : [])], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Layers;
  };
  const one = run(1);
  const ten = run(10);
  const row = (name: string, k: keyof Layers | 'total'): string => {
    const v = (l: Layers): number => (k === 'total' ? l.cache + l.store + l.snapshot + l.dataplane : l[k]) / services;
    const perEndpoint = (v(ten) - v(one)) / 9;
    return `| ${name} | ${(v(one) - perEndpoint).toFixed(0)} | ${perEndpoint.toFixed(0)} | ${v(ten).toFixed(0)} |`;
  };
  console.log(`${mode ? `${mode} mode's and the shared` : 'Shared'} heap at ${services.toLocaleString('en-US')} services x 1 port (bytes, retained after forced GCs; Node ${process.version})\n`);
  console.log('| Layer | per service port (no endpoints) | per endpoint | per service with 10 endpoints |');
  console.log('| --- | --- | --- | --- |');
  console.log(row('informer cache (wire objects)', 'cache'));
  console.log(row('model store indexes', 'store'));
  console.log(row('snapshot (ServicePorts, endpoint lists, maps)', 'snapshot'));
  if (mode) console.log(row(`${mode} dataplane after the first full sync`, 'dataplane'));
  console.log(row('total', 'total'));
}
