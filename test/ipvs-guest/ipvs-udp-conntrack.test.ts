// IPVS mode, stale UDP conntrack entries (issue #16 item 9), with packets in the guest's kernel:
// a UDP client keeps one source port (one flow) while the service's endpoints change, and the
// replaced endpoint keeps running (an entry still pointing at it would keep getting answers).
// The same shape as the iptables suite's UDP churn test (test/e2e/iptables-policies.test.ts).
//
// On the guest's 6.1 kernel IPVS itself recovers a flow whose real server was deleted
// (expire_nodest_conn, since 5.9, expires its connections and their conntrack entries at once),
// and with no real server it drops the datagram before conntrack confirms the flow: those
// scenarios pass without the dataplane's cleanup too, and guard that the cleanup keeps flows
// moving to the new endpoint. What the dataplane asks conntrack to delete is proven by
// test/unit/ipvs-dataplane/conntrack.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, nsExec, requireRoot, tally, udpHits, type Cluster } from '../e2e/harness/index.js';
import { startProxy } from '../e2e/iptables-helpers.js';
import {
  eventually,
  inIpvsGuest,
  ipvsArgs,
  service,
  slice,
  startApi,
  syncRecords,
  waitForIpvs,
  type Proxy,
  type SvcEndpoint,
  type TestEnv,
} from './ipvs-helpers.js';

const NODE_A = '198.18.0.1';
const DNS = '198.19.5.40';
const LATE = '198.19.5.41';
const NP_DNS = '198.19.5.42';
const EARLY = '198.19.5.43';
const NODE_PORT = 30553;
/** The guest is emulated and shares a loaded host: generous waits (never what a test asserts). */
const SLOW = 300_000;
/** Per datagram: an answer comes in well under this, a lost one costs all of it (the client's
 * budget is count × this, and node itself takes many seconds to start in the guest). */
const REPLY_MS = 15_000;

describe.skipIf(!requireRoot() || !inIpvsGuest())('IPVS mode: stale UDP conntrack entries', () => {
  let c: Cluster;
  let env: TestEnv;
  let proxy: Proxy | undefined;
  const ep = (name: string): SvcEndpoint => ({ ip: c.pod(name).ipv4, nodeName: c.pod(name).nodeName });
  const rs = (name: string): string => `${c.pod(name).ipv4}:8080 Masq w1`;
  /** The node's UDP conntrack table, for failure messages. */
  const udpTable = async (): Promise<string> => (await nsExec(c.nodes.a.ns, ['conntrack', '-L', '-p', 'udp'])).stdout;

  /** Changes a slice and waits for the sync that programmed it (its conntrack cleanup included). */
  async function replaceEndpoints(name: string, eps: readonly SvcEndpoint[], want: Record<string, string[]>): Promise<void> {
    const d = proxy!.daemon;
    const before = syncRecords(d).length;
    env.api.update(slice(name, eps, { protocol: 'UDP' }));
    await waitForIpvs(c.nodes.a.ns, want, (k) => Object.keys(want).includes(k), SLOW);
    await eventually(async () => syncRecords(d).length > before, `the sync that programmed ${name}`, SLOW);
  }

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    env.api.create(service({ name: 'dns', clusterIP: DNS, port: 53, protocol: 'UDP' }));
    env.api.create(slice('dns', [ep('a1')], { protocol: 'UDP' }));
    env.api.create(service({ name: 'late', clusterIP: LATE, port: 53, protocol: 'UDP' }));
    env.api.create(slice('late', [], { protocol: 'UDP' }));
    env.api.create(service({ name: 'npdns', type: 'NodePort', clusterIP: NP_DNS, port: 53, protocol: 'UDP', nodePort: NODE_PORT }));
    env.api.create(slice('npdns', [ep('b1')], { protocol: 'UDP' }));
    proxy = await startProxy(env, c.nodes.a, {}, { args: ipvsArgs, firstSyncTimeoutMs: SLOW, stopGraceMs: 15_000 });
    await waitForIpvs(c.nodes.a.ns, {
      [`UDP ${DNS}:53 rr`]: [rs('a1')],
      [`UDP ${LATE}:53 rr`]: [],
      [`UDP ${NP_DNS}:53 rr`]: [rs('b1')],
      [`UDP ${NODE_A}:${NODE_PORT} rr`]: [rs('b1')],
    }, undefined, SLOW);
  }, 3 * SLOW);

  afterAll(async () => {
    await proxy?.stop();
    await env?.close();
    await c?.destroy();
  }, SLOW);

  it('ClusterIP: after the endpoint is replaced, datagrams of the same flow reach the new endpoint', async () => {
    const sourcePort = 40053;
    expect(tally(await udpHits(c.client.ns, DNS, 53, 3, { sourcePort, timeoutMs: REPLY_MS }))).toEqual({ a1: 3 });
    // a1 keeps running: an entry still pointing at it would keep getting answers from it.
    await replaceEndpoints('dns', [ep('b2')], { [`UDP ${DNS}:53 rr`]: [rs('b2')] });
    const after = tally(await udpHits(c.client.ns, DNS, 53, 3, { sourcePort, timeoutMs: REPLY_MS }));
    expect(after, await udpTable()).toEqual({ b2: 3 });
    // And back across nodes the other way.
    await replaceEndpoints('dns', [ep('a2')], { [`UDP ${DNS}:53 rr`]: [rs('a2')] });
    expect(tally(await udpHits(c.client.ns, DNS, 53, 3, { sourcePort, timeoutMs: REPLY_MS })), await udpTable()).toEqual({ a2: 3 });
  }, 3 * SLOW);

  it('ClusterIP: a flow that started while the service had no endpoints is answered once it has one', async () => {
    const sourcePort = 40054;
    const none = await udpHits(c.client.ns, LATE, 53, 2, { sourcePort, timeoutMs: REPLY_MS });
    expect(none.every((h) => h.error !== undefined), JSON.stringify(none)).toBe(true);
    await replaceEndpoints('late', [ep('a2')], { [`UDP ${LATE}:53 rr`]: [rs('a2')] });
    expect(tally(await udpHits(c.client.ns, LATE, 53, 3, { sourcePort, timeoutMs: REPLY_MS })), await udpTable()).toEqual({ a2: 3 });
  }, 2 * SLOW);

  it('ClusterIP: a flow that started before its service existed is answered once the service has an endpoint', async () => {
    const sourcePort = 40056;
    // Nothing on the node owns this address yet: the node forwards the datagrams (to its
    // default route, which drops them) and the kernel confirms a conntrack entry for the flow.
    const none = await udpHits(c.client.ns, EARLY, 53, 2, { sourcePort, timeoutMs: REPLY_MS });
    expect(none.every((h) => h.error !== undefined), JSON.stringify(none)).toBe(true);
    const d = proxy!.daemon;
    const before = syncRecords(d).length;
    env.api.create(service({ name: 'early', clusterIP: EARLY, port: 53, protocol: 'UDP' }));
    env.api.create(slice('early', [ep('b2')], { protocol: 'UDP' }));
    await waitForIpvs(c.nodes.a.ns, { [`UDP ${EARLY}:53 rr`]: [rs('b2')] }, (k) => k.includes(EARLY), SLOW);
    await eventually(async () => syncRecords(d).length > before, 'the sync that programmed early', SLOW);
    expect(tally(await udpHits(c.client.ns, EARLY, 53, 3, { sourcePort, timeoutMs: REPLY_MS })), await udpTable()).toEqual({ b2: 3 });
  }, 2 * SLOW);

  it('NodePort: after the endpoint is replaced, the external client`s flow reaches the new endpoint', async () => {
    const sourcePort = 40055;
    expect(tally(await udpHits(c.external.ns, NODE_A, NODE_PORT, 3, { sourcePort, timeoutMs: REPLY_MS }))).toEqual({ b1: 3 });
    await replaceEndpoints('npdns', [ep('a1')], {
      [`UDP ${NP_DNS}:53 rr`]: [rs('a1')],
      [`UDP ${NODE_A}:${NODE_PORT} rr`]: [rs('a1')],
    });
    expect(tally(await udpHits(c.external.ns, NODE_A, NODE_PORT, 3, { sourcePort, timeoutMs: REPLY_MS })), await udpTable()).toEqual({ a1: 3 });
  }, 2 * SLOW);
});
