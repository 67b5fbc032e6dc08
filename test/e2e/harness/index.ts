// The end-to-end harness: namespaces-as-a-cluster, echo servers, traffic clients, the apiserver
// bridge and the daemon runner. Import from here in test/e2e/*.test.ts. Typical use:
//
//   describe.skipIf(!requireRoot())('iptables mode', () => {
//     let c: Cluster; let api: ApiserverBridge; let d: Daemon;
//     beforeAll(async () => {
//       c = await createCluster();
//       api = await apiserverBridge(c.nodes.a.ns, apiserverSocketPath);
//       d = startDaemon(c.nodes.a.ns, ['--master', api.url, '--hostname-override', c.nodes.a.name]);
//       await d.waitForLog(/synced/i);
//     });
//     afterAll(async () => { await d?.stop(); await c?.destroy(); });
//     it('balances', async () => {
//       const hits = await tcpHits(c.client.ns, '198.19.0.10', 80, 20);
//       expect(Object.keys(tally(hits))).toEqual(expect.arrayContaining(['a1', 'b1']));
//     });
//   });
//
// startDaemon runs dist/proxy/main.js, so `npm run build` must have run first.

export { createCluster, type Cluster, type ClusterOptions, type HostHandle, type NodeHandle, type PodHandle } from './cluster.js';
export { startEcho, ECHO_HTTP_PORT, ECHO_TCP_PORT, ECHO_UDP_PORT, type EchoOptions } from './echo.js';
export {
  tcpHits,
  udpHits,
  httpGet,
  openLongLived,
  tally,
  hostForUrl,
  type Hit,
  type HitOptions,
  type HttpResult,
  type LongLived,
  type UdpOptions,
} from './client.js';
export { apiserverBridge, type ApiserverBridge } from './bridge.js';
export { startDaemon, DEFAULT_DAEMON_ENTRY, REPO_ROOT, type Daemon, type DaemonOptions } from './daemon.js';
export { nsExec, nsExecOk, listNamespaces, sweepStale } from './ns.js';
export { requireRoot, isRoot } from './root.js';
export { rootSnapshot } from './snapshot.js';
export * from './topology.js';
export * from './pod-network.js';
