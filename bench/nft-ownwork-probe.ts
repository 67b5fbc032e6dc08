// Temporary probe (not committed): own-work profile of nftables partial syncs.
import { generateCluster, extraEndpoint, sliceFor } from './generate.js';
import { applyObjects, loadCluster } from './inprocess.js';
import { nftInProcessForProbe } from './nftables-daemon.js';
const n = Number(process.argv[2] ?? 1000);
const cluster = generateCluster({ services: n, endpointsPerService: 10, seed: 1 });
const p = nftInProcessForProbe();
loadCluster(p.store, cluster);
let t = performance.now();
let snap = p.store.snapshot();
await p.dp.sync({ state: snap.state, changes: snap.changes, full: true });
console.log('full', (performance.now() - t).toFixed(1));
const times: number[] = [];
const snapT: number[] = [];
for (let r = 0; r < 200; r++) {
  const s = cluster.services[(r * 7919) % n]!;
  applyObjects(p.store, [{ kind: 'upsert', obj: sliceFor(s.name, [...s.endpoints, extraEndpoint(r, 0)]) }]);
  t = performance.now();
  snap = p.store.snapshot();
  const t1 = performance.now();
  await p.dp.sync({ state: snap.state, changes: snap.changes, full: false });
  times.push(performance.now() - t1);
  snapT.push(t1 - t);
}
snapT.sort((a, b) => a - b);
console.log('snapshot median', snapT[100]!.toFixed(2), 'p90', snapT[180]!.toFixed(2), 'max', snapT[199]!.toFixed(2));
console.log('sync max', Math.max(...times).toFixed(2));
console.log('first', times.slice(0, 12).map((x) => x.toFixed(1)).join(' '), 'later>5ms', times.slice(12).filter((x) => x > 5).length);
times.sort((a, b) => a - b);
console.log('one endpoint median', times[100]!.toFixed(2), 'p90', times[180]!.toFixed(2));
for (let i = 0; i < 100; i++) {
  const s = cluster.services[(i * 104729) % n]!;
  applyObjects(p.store, [{ kind: 'upsert', obj: sliceFor(s.name, [...s.endpoints, extraEndpoint(5000 + i, 0)]) }]);
}
t = performance.now();
snap = p.store.snapshot();
await p.dp.sync({ state: snap.state, changes: snap.changes, full: false });
console.log('100 endpoints', (performance.now() - t).toFixed(1));
