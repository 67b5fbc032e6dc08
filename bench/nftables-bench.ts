// nftables mode against the real kernel, in-process, in a private network namespace: the same
// ModelStore + createNftablesDataplane + netlink client as the daemon, timed per sync, with the
// kernel's share (time inside the netlink commits) and the bytes sent split out.
//
//   npm run build && node dist/bench/nftables-bench.js [--sizes 1000,5000,10000] [--endpoints 10] [--reps 5]
//
// It re-executes itself inside a fresh `kptb-nft-*` namespace (root needed) and deletes it after.

import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNftablesDataplane } from '../modes/nftables/dataplane.js';
import { NftNetlinkClient } from '../modes/nftables/netlink/client.js';
import type { CommitResult, NftClient, NftOp } from '../modes/nftables/netlink/types.js';
import { loadConfig } from '../proxy/config/load.js';
import { silentLogger } from '../proxy/log.js';
import { ModelStore } from '../proxy/model/store.js';
import { ProxyMetrics } from '../sync/metrics.js';
import { BENCH_NODE, BENCH_NODE_IP, extraEndpoint, extraService, generateCluster, sliceFor } from './generate.js';
import { applyObjects, loadCluster } from './inprocess.js';

interface Measure {
  readonly ms: number;
  readonly kernelMs: number;
  readonly bytes: number;
  readonly ops: number;
  readonly transactions: number;
  /** Time inside the table dump (kernel work too) of a full sync. */
  readonly dumpMs: number;
}

/** Wraps the client to add up what each sync sends. */
class CountingClient implements NftClient {
  kernelMs = 0;
  bytes = 0;
  ops = 0;
  transactions = 0;
  constructor(private readonly inner: NftClient) {}
  reset(): void {
    this.kernelMs = this.bytes = this.ops = this.transactions = this.dumpMs = 0;
  }
  async commit(ops: readonly NftOp[]): Promise<CommitResult> {
    const r = await this.inner.commit(ops);
    this.kernelMs += r.kernelMs;
    this.bytes += r.bytes;
    this.ops += ops.length;
    this.transactions++;
    return r;
  }
  dumpMs = 0;
  dumpTable: NftClient['dumpTable'] = async (f, n) => {
    const t0 = performance.now();
    try {
      return await this.inner.dumpTable(f, n);
    } finally {
      this.dumpMs += performance.now() - t0;
    }
  };
  quietEpoch = (): Promise<number> => this.inner.quietEpoch!();
  close = (): Promise<void> => this.inner.close();
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function runSize(services: number, endpoints: number, reps: number): Promise<Record<string, Measure | number>> {
  const { config } = loadConfig([`--hostname-override=${BENCH_NODE}`, '--mode=nftables', '--detect-local-mode=NodeCIDR', '--conntrack-max-per-core=0']);
  const client = new CountingClient(await NftNetlinkClient.open());
  const noCt = { clearEntriesForIP: async () => undefined, clearEntriesForPort: async () => undefined, clearEntriesForNAT: async () => undefined, clearEntriesForPortNAT: async () => undefined };
  const dp = createNftablesDataplane({
    config,
    client,
    conntrack: noCt,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    families: ['IPv4'],
    nodeIPs: () => [BENCH_NODE_IP],
    localAddresses: () => ['127.0.0.1', BENCH_NODE_IP],
  });
  const cluster = generateCluster({ services, endpointsPerService: endpoints, seed: 1 });
  const store = new ModelStore({ nodeName: BENCH_NODE });
  loadCluster(store, cluster);
  const sync = async (full: boolean): Promise<Measure> => {
    client.reset();
    const t0 = performance.now();
    const snap = store.snapshot();
    await dp.sync({ state: snap.state, changes: snap.changes, full });
    return { ms: performance.now() - t0, kernelMs: client.kernelMs, bytes: client.bytes, ops: client.ops, transactions: client.transactions, dumpMs: client.dumpMs };
  };
  const first = await sync(true);
  const pick = (xs: Measure[]): Measure => {
    const m = median(xs.map((x) => x.ms));
    return xs.find((x) => x.ms === m)!;
  };
  const epChange: Measure[] = [];
  for (let r = 0; r < reps; r++) {
    const s = cluster.services[(r * 7919) % services]!;
    applyObjects(store, [{ kind: 'upsert', obj: sliceFor(s.name, [...s.endpoints, extraEndpoint(r, 0)]) }]);
    epChange.push(await sync(false));
    applyObjects(store, [{ kind: 'upsert', obj: s.slice }]);
    await sync(false);
  }
  const svcAdd: Measure[] = [];
  const svcDel: Measure[] = [];
  for (let r = 0; r < reps; r++) {
    const x = extraService(services + r, endpoints);
    applyObjects(store, [{ kind: 'upsert', obj: x.service }, { kind: 'upsert', obj: x.slice }]);
    svcAdd.push(await sync(false));
    applyObjects(store, [{ kind: 'delete', obj: x.slice }, { kind: 'delete', obj: x.service }]);
    svcDel.push(await sync(false));
  }
  for (let i = 0; i < 100; i++) {
    const s = cluster.services[(i * 104729) % services]!;
    applyObjects(store, [{ kind: 'upsert', obj: sliceFor(s.name, [...s.endpoints, extraEndpoint(1000 + i, 0)]) }]);
  }
  const hundred = await sync(false);
  const resync = await sync(true);
  const rssMB = process.memoryUsage().rss / 2 ** 20;
  await client.close();
  return { firstFull: first, oneEndpoint: pick(epChange), serviceAdd: pick(svcAdd), serviceRemove: pick(svcDel), hundredEndpoints: hundred, periodicFull: resync, rssMB };
}

function fmt(m: Measure | number): string {
  if (typeof m === 'number') return `${m.toFixed(0)} MB`;
  return `${m.ms.toFixed(1)} ms (kernel ${m.kernelMs.toFixed(1)} ms${m.dumpMs ? `, dump ${m.dumpMs.toFixed(1)} ms` : ''}), ${m.ops} ops, ${(m.bytes / 1024).toFixed(1)} KB, ${m.transactions} txn`;
}

async function inner(argv: string[]): Promise<void> {
  const arg = (k: string, d: string): string => argv[argv.indexOf(`--${k}`) + 1] && argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1]! : d;
  const sizes = arg('sizes', '1000,5000,10000').split(',').map(Number);
  const endpoints = Number(arg('endpoints', '10'));
  const reps = Number(arg('reps', '5'));
  const out: Record<string, unknown> = {};
  for (const s of sizes) {
    const r = await runSize(s, endpoints, reps);
    out[String(s)] = r;
    process.stdout.write(`\n## nftables mode, ${s} services x ${endpoints} endpoints\n`);
    for (const [k, v] of Object.entries(r)) process.stdout.write(`- ${k}: ${fmt(v)}\n`);
    // Each size starts from an empty table.
    execFileSync('nft', ['flush', 'ruleset']);
  }
  process.stdout.write('\n' + JSON.stringify(out) + '\n');
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self) {
  if (process.env['KPTB_NFT_INNER']) {
    await inner(process.argv.slice(2));
  } else {
    const ns = `kptb-nft-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, KPTB_NFT_INNER: '1' } });
      process.exitCode = r.status ?? 1;
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  }
}
