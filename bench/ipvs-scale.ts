// Benchmark (not a test) of IPVS mode at scale, run inside the kvm-run guest (this host's kernel
// has no IPVS): the real daemon in a node namespace against the test apiserver, S services × E
// endpoints; reports the first full sync (duration, IPVS operations, netlink requests) and one
// endpoint change. `bash scripts/bench-ipvs.sh [S] [E]` boots the guest and runs it.

import { createCluster } from '../test/e2e/harness/index.js';
import { eventually, inIpvsGuest, service, slice, startApi, startIpvsProxy, syncRecords } from '../test/ipvs-guest/ipvs-helpers.js';

const S = Number(process.argv[2] ?? 10_000);
const E = Number(process.argv[3] ?? 10);
const vip = (i: number): string => `198.19.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`;
/** 60,000 distinct pod addresses in 198.18.16.0 – 198.18.251.254, reused round-robin. */
const podIP = (k: number): string => {
  const n = k % 60_000;
  return `198.18.${16 + Math.floor(n / 254)}.${(n % 254) + 1}`;
};

async function main(): Promise<void> {
  if (!inIpvsGuest()) throw new Error('run inside the kvm-run guest: bash scripts/bench-ipvs.sh');
  const c = await createCluster({ echo: false });
  const env = await startApi(c);
  try {
    const node = c.nodes.b.name;
    for (let i = 0; i < S; i++) {
      env.api.create(service({ name: `s${i}`, clusterIP: vip(i) }));
      env.api.create(slice(`s${i}`, Array.from({ length: E }, (_, j) => ({ ip: podIP(i * E + j), nodeName: node }))));
    }
    const t0 = Date.now();
    const proxy = await startIpvsProxy(env, c.nodes.a, { extraArgs: ['--ipvs-sync-period=1h', '--ipvs-min-sync-period=1s'] });
    const first = syncRecords(proxy.daemon)[0] ?? {};
    const report: Record<string, unknown> = {
      services: S,
      endpointsPerService: E,
      spawnToSyncedMs: Date.now() - t0,
      firstSync: pick(first),
    };
    const before = syncRecords(proxy.daemon).length;
    env.api.update(slice('s0', Array.from({ length: E + 1 }, (_, j) => ({ ip: podIP(S * E + j), nodeName: node }))));
    const rec = await eventually(async () => syncRecords(proxy.daemon).slice(before).find((r) => (r['changed'] as number) > 0), 'a sync of the change', 60_000);
    report['endpointChange'] = pick(rec);
    await proxy.stop();
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await env.close();
    await c.destroy();
  }
}

function pick(r: Record<string, unknown>): Record<string, unknown> {
  const keys = ['full', 'durationMs', 'virtualServers', 'ipvsOps', 'netlinkRequests', 'ipsetLines', 'changed'];
  return Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]]));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
