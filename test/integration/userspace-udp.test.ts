// The userspace dataplane proxying UDP on loopback, with a fake clock driving session idle expiry.

import { afterEach, describe, expect, it } from 'vitest';
import { createUserspaceDataplane } from '../../modes/userspace/dataplane.js';
import { silentLogger } from '../../proxy/log.js';
import type { ServicePort } from '../../proxy/model/types.js';
import { FakeClock } from '../../sync/clock.js';
import { ProxyMetrics } from '../../sync/metrics.js';
import { config, endpoint, recordingRunner, request, servicePort, state } from '../unit/userspace/fixtures.js';
import { Resources, udpBackend, udpClient, type UdpBackend } from '../unit/userspace/net-fixtures.js';

const res = new Resources();
afterEach(() => res.closeAll());

interface Described {
  listener: { port: number } | null;
  activeSessions: number;
}

async function setup(opts: { maxUdpSessions?: number } = {}) {
  const clock = new FakeClock(0);
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => udpBackend(n).then((b) => res.add(b))));
  const metrics = new ProxyMetrics({ processMetrics: false });
  const dp = createUserspaceDataplane({
    config,
    runner: recordingRunner(),
    metrics,
    logger: silentLogger,
    listenHost: '127.0.0.1',
    udpIdleTimeoutMs: 1000,
    clock,
    ...opts,
  });
  res.add({ close: async () => dp.close?.() });
  const sp = servicePort({ name: 'dns', protocol: 'UDP', port: 53 });
  const sync = (bs: readonly UdpBackend[], svc: ServicePort = sp) =>
    dp.sync(request(state([[svc, bs.map((b) => endpoint('127.0.0.1', b.port))]])));
  await sync(backends);
  const describe = async () => (await dp.describe?.(sp.key)) as Described;
  const port = (await describe()).listener?.port ?? 0;
  const client = async () => res.add(await udpClient());
  return { clock, backends, dp, sp, sync, describe, port, client, metrics };
}

describe('userspace UDP proxy', () => {
  it('round-robins clients and reuses a session for the same client', async () => {
    const { port, client, backends, describe } = await setup();
    const [c1, c2, c3] = await Promise.all([client(), client(), client()]);
    expect(await c1!.ask(port, 'x')).toBe('a:x');
    expect(await c1!.ask(port, 'y')).toBe('a:y');
    expect(await c2!.ask(port, 'z')).toBe('b:z');
    expect(await c3!.ask(port, 'w')).toBe('c:w');
    expect(await c1!.ask(port, 'again')).toBe('a:again');
    // One proxy session per client: backend a saw a single source address.
    expect(backends[0]!.peers.size).toBe(1);
    expect((await describe()).activeSessions).toBe(3);
  });

  it('expires idle sessions and opens a new one on the next datagram', async () => {
    const { port, client, backends, describe, clock } = await setup();
    const c1 = await client();
    expect(await c1.ask(port, '1')).toBe('a:1');
    clock.advance(600);
    expect(await c1.ask(port, '2')).toBe('a:2');
    // Activity 600 ms ago keeps it alive past the first 1000 ms mark.
    clock.advance(600);
    expect((await describe()).activeSessions).toBe(1);
    clock.advance(1000);
    expect((await describe()).activeSessions).toBe(0);
    expect(await c1.ask(port, '3')).toBe('b:3');
    expect(backends[0]!.peers.size).toBe(1);
    expect(backends[1]!.peers.size).toBe(1);
  });

  it('drops sessions bound to a removed endpoint', async () => {
    const { port, client, backends, describe, sync } = await setup();
    const c1 = await client();
    expect(await c1.ask(port, '1')).toBe('a:1');
    await sync([backends[1]!, backends[2]!]);
    expect((await describe()).activeSessions).toBe(0);
    expect(await c1.ask(port, '2')).toMatch(/^[bc]:2$/);
  });

  it('evicts the oldest session when the session table is full', async () => {
    const { port, client, describe } = await setup({ maxUdpSessions: 2 });
    const [c1, c2, c3] = await Promise.all([client(), client(), client()]);
    expect(await c1!.ask(port, '1')).toBe('a:1');
    expect(await c2!.ask(port, '2')).toBe('b:2');
    expect(await c3!.ask(port, '3')).toBe('c:3');
    expect((await describe()).activeSessions).toBe(2);
    // c1's session was evicted: it gets a fresh pick (round robin continues at a).
    expect(await c1!.ask(port, '4')).toBe('a:4');
    expect(await c3!.ask(port, '5')).toBe('c:5');
  });

  it('exports the live session gauge', async () => {
    const { port, client, metrics } = await setup();
    await (await client()).ask(port, 'x');
    expect(await metrics.text()).toContain('kubeproxy_userspace_active_udp_sessions{service_port="default/dns:p"} 1');
  });
});
