// The userspace dataplane proxying real TCP on loopback: the test connects straight to the
// listener port the dataplane reports (no iptables involved; the runner only records payloads).

import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dataplane } from '../../modes/dataplane.js';
import { createUserspaceDataplane } from '../../modes/userspace/dataplane.js';
import { memoryLogger, silentLogger, type Logger } from '../../proxy/log.js';
import type { Endpoint, ServicePort } from '../../proxy/model/types.js';
import { FakeClock, type Clock } from '../../sync/clock.js';
import { ProxyMetrics } from '../../sync/metrics.js';
import { config, endpoint, recordingRunner, request, servicePort, state } from '../unit/userspace/fixtures.js';
import {
  Resources,
  blackHole,
  connect,
  deadPort,
  echoServer,
  nameServer,
  roundTrip,
  tcpBackend,
  tcpRequest,
  type TcpBackend,
} from '../unit/userspace/net-fixtures.js';

const res = new Resources();
afterEach(() => res.closeAll());

interface Harness {
  dp: Dataplane;
  metrics: ProxyMetrics;
  sync(entries: ReadonlyArray<readonly [ServicePort, readonly Endpoint[]]>): Promise<void>;
  port(key: string): Promise<number>;
}

async function harness(opts: { clock?: Clock; logger?: Logger } = {}): Promise<Harness> {
  const metrics = new ProxyMetrics({ processMetrics: false });
  const dp = createUserspaceDataplane({
    config,
    runner: recordingRunner(),
    metrics,
    logger: opts.logger ?? silentLogger,
    listenHost: '127.0.0.1',
    clock: opts.clock,
  });
  res.add({ close: async () => dp.close?.() });
  return {
    dp,
    metrics,
    sync: async (entries) => {
      await dp.sync(request(state(entries)));
    },
    port: async (key) => {
      const d = (await dp.describe?.(key)) as { listener: { port: number } | null };
      if (!d.listener) throw new Error(`no listener for ${key}`);
      return d.listener.port;
    },
  };
}

const eps = (...backends: TcpBackend[]): Endpoint[] => backends.map((b) => endpoint('127.0.0.1', b.port));
/** Poll `read` (yielding to the event loop) until `ok`; returns the last value either way. */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 200 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 10));
    v = await read();
  }
  return v;
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** tcpRequest as a client with a timeout sees it: ETIMEDOUT when the reply takes longer. */
function requestWithin(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ETIMEDOUT')), timeoutMs);
    tcpRequest(port).then(
      (b) => {
        clearTimeout(timer);
        resolve(b.toString());
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
const metricValue = (text: string, name: string, key: string): number =>
  Number(new RegExp(`^${name}\\{service_port="${key}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

describe('userspace TCP proxy', () => {
  it('round-robins connections over three endpoints', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => nameServer(n).then((s) => res.add(s))));
    const h = await harness();
    const sp = servicePort({ name: 'web' });
    await h.sync([[sp, eps(a!, b!, c!)]]);
    const port = await h.port(sp.key);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await tcpRequest(port)).toString());
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('keeps a client on one endpoint with ClientIP affinity until it expires', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((n) => nameServer(n).then((s) => res.add(s))));
    const clock = new FakeClock(1_000_000);
    const h = await harness({ clock });
    const sp = servicePort({ name: 'sticky', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 30 } });
    await h.sync([[sp, eps(a!, b!)]]);
    const port = await h.port(sp.key);
    const first = (await tcpRequest(port)).toString();
    for (let i = 0; i < 4; i++) expect((await tcpRequest(port)).toString()).toBe(first);
    clock.advance(30_000);
    expect((await tcpRequest(port)).toString()).not.toBe(first);
  });

  it('skips a dead endpoint without failing the client and counts the dial error', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((n) => nameServer(n).then((s) => res.add(s))));
    const dead = await deadPort();
    const h = await harness();
    const sp = servicePort({ name: 'flaky' });
    await h.sync([[sp, [endpoint('127.0.0.1', dead), ...eps(a!, b!)]]]);
    const port = await h.port(sp.key);
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push((await tcpRequest(port)).toString());
    expect(replies.every((r) => r === 'a' || r === 'b')).toBe(true);
    const text = await h.metrics.text();
    expect(text).toMatch(/kubeproxy_userspace_endpoint_dial_errors_total\{service_port="default\/flaky:p"\} [1-9]/);
  });

  it('resets the client when every endpoint is dead', async () => {
    const h = await harness();
    const sp = servicePort({ name: 'down' });
    await h.sync([[sp, [endpoint('127.0.0.1', await deadPort())]]]);
    await expect(tcpRequest(await h.port(sp.key))).rejects.toThrow(/ECONNRESET|EPIPE/);
  });

  it('fails no client (2 s timeout) when an endpoint black-holes SYNs: one 250 ms dial, then ejection', async () => {
    const hole = res.add(await blackHole());
    const a = res.add(await nameServer('a'));
    // The fake clock only drives ejection (and affinity); dial timers are real. Frozen, the
    // ejection cannot end during the test, so exactly one dial may reach the black hole.
    const clock = new FakeClock(1_000_000);
    const { logger, lines } = memoryLogger();
    const h = await harness({ clock, logger });
    const sp = servicePort({ name: 'hole' });
    const holeId = `127.0.0.1:${hole.port}`;
    await h.sync([[sp, [endpoint('127.0.0.1', hole.port), ...eps(a)]]]);
    const port = await h.port(sp.key);
    const replies: string[] = [];
    for (let i = 0; i < 20; i++) replies.push(await requestWithin(port, 2000).catch((e: Error) => e.message));
    expect(replies).toEqual(Array(20).fill('a'));
    let text = await h.metrics.text();
    expect(metricValue(text, 'kubeproxy_userspace_endpoint_dial_errors_total', sp.key)).toBe(1);
    expect(metricValue(text, 'kubeproxy_ts_userspace_endpoint_ejections_total', sp.key)).toBe(1);
    expect(metricValue(text, 'kubeproxy_ts_userspace_ejected_endpoints', sp.key)).toBe(1);
    expect(((await h.dp.describe?.(sp.key)) as { ejectedEndpoints: unknown }).ejectedEndpoints).toEqual([
      { endpoint: holeId, remainingMs: 5000, ejections: 1 },
    ]);
    expect(lines.filter((l) => l.includes('endpoint ejected after dial timeout') && l.includes(holeId))).toHaveLength(1);

    // Once the ejection ends the endpoint gets one probe; still dead, it is ejected for twice as long.
    clock.advance(5000);
    for (let i = 0; i < 4; i++) expect(await requestWithin(port, 2000)).toBe('a');
    text = await h.metrics.text();
    expect(metricValue(text, 'kubeproxy_userspace_endpoint_dial_errors_total', sp.key)).toBe(2);
    expect(((await h.dp.describe?.(sp.key)) as { ejectedEndpoints: unknown }).ejectedEndpoints).toEqual([
      { endpoint: holeId, remainingMs: 10_000, ejections: 2 },
    ]);
    // An endpoint update that drops it forgets it.
    await h.sync([[sp, eps(a)]]);
    expect(((await h.dp.describe?.(sp.key)) as { ejectedEndpoints: unknown }).ejectedEndpoints).toEqual([]);
    expect(metricValue(await h.metrics.text(), 'kubeproxy_ts_userspace_ejected_endpoints', sp.key)).toBe(0);
  });

  it('moves a ClientIP affinity off a black-holed endpoint and keeps it on the live one', async () => {
    const hole = res.add(await blackHole());
    const a = res.add(await nameServer('a'));
    const clock = new FakeClock(1_000_000);
    const h = await harness({ clock });
    const sp = servicePort({ name: 'sticky-hole', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 30 } });
    await h.sync([[sp, [endpoint('127.0.0.1', hole.port), ...eps(a)]]]);
    const port = await h.port(sp.key);
    for (let i = 0; i < 5; i++) expect(await requestWithin(port, 2000)).toBe('a');
    // Even after the ejection ended, the client stays pinned to the endpoint that answered.
    clock.advance(5000);
    for (let i = 0; i < 3; i++) expect(await requestWithin(port, 2000)).toBe('a');
    expect(metricValue(await h.metrics.text(), 'kubeproxy_userspace_endpoint_dial_errors_total', sp.key)).toBe(1);
  });

  it('relays 20 MB each way byte-identical through an echo endpoint', async () => {
    const echo = res.add(await echoServer('echo'));
    const h = await harness();
    const sp = servicePort({ name: 'bulk' });
    await h.sync([[sp, eps(echo)]]);
    const data = randomBytes(20 * 1024 * 1024);
    const reply = await tcpRequest(await h.port(sp.key), data);
    expect(reply.length).toBe(data.length);
    expect(sha(reply)).toBe(sha(data));
    // Bytes are accounted when the connection closes, which may trail the client's view a little.
    const text = await eventually(() => h.metrics.text(), (t) => t.includes('direction="to_endpoint"'));
    expect(text).toContain(`kubeproxy_userspace_bytes_proxied_total{service_port="default/bulk:p",direction="to_endpoint"} ${data.length}`);
  });

  it('delivers an endpoint stream byte-identical to a client that stalls, then reads', async () => {
    // The endpoint socket reads into one buffer of its own (onread): while a stalled client still
    // holds part of it, the proxy must stop reading, or later reads would overwrite unsent bytes.
    const data = randomBytes(30 * 1024 * 1024);
    const source = res.add(await tcpBackend('source', (s) => s.end(data)));
    const h = await harness();
    const sp = servicePort({ name: 'download' });
    await h.sync([[sp, eps(source)]]);
    const client = await connect(await h.port(sp.key));
    client.pause();
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    let stalls = 0;
    const received = new Promise<Buffer>((resolve, reject) => {
      client.on('data', (c: Buffer) => {
        chunks.push(c);
        // Stall again now and then, so the proxy meets a full client many times.
        if (chunks.length % 50 === 0) {
          stalls++;
          client.pause();
          setTimeout(() => client.resume(), 20);
        }
      });
      client.on('end', () => resolve(Buffer.concat(chunks)));
      client.on('error', reject);
    });
    client.resume();
    const got = await received;
    client.destroy();
    expect(stalls).toBeGreaterThan(0);
    expect(got.length).toBe(data.length);
    expect(sha(got)).toBe(sha(data));
  });

  it('forwards a client half-close; the server still replies after seeing EOF', async () => {
    const counter = res.add(
      await tcpBackend('counter', (s) => {
        let n = 0;
        s.on('data', (c: Buffer) => (n += c.length));
        s.on('end', () => s.end(`got ${n} bytes after EOF`));
      }),
    );
    const h = await harness();
    const sp = servicePort({ name: 'half' });
    await h.sync([[sp, eps(counter)]]);
    expect((await tcpRequest(await h.port(sp.key), 'x'.repeat(1000))).toString()).toBe('got 1000 bytes after EOF');
  });

  it('propagates a reset from the endpoint to the client', async () => {
    const rst = res.add(await tcpBackend('rst', (s) => s.once('data', () => s.resetAndDestroy())));
    const h = await harness();
    const sp = servicePort({ name: 'rst' });
    await h.sync([[sp, eps(rst)]]);
    const client = await connect(await h.port(sp.key));
    const outcome = await new Promise<string>((resolve) => {
      client.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      client.on('end', () => resolve('clean end'));
      client.resume();
      client.write('hello');
    });
    expect(outcome).toBe('ECONNRESET');
  });

  it('propagates a reset from the client to the endpoint', async () => {
    let outcome: (v: string) => void = () => undefined;
    const seen = new Promise<string>((resolve) => (outcome = resolve));
    const victim = res.add(
      await tcpBackend('victim', (s) => {
        s.on('error', (e: NodeJS.ErrnoException) => outcome(e.code ?? 'error'));
        s.on('end', () => outcome('clean end'));
        s.resume();
        s.write('ready');
      }),
    );
    const h = await harness();
    const sp = servicePort({ name: 'crst' });
    await h.sync([[sp, eps(victim)]]);
    const client = await connect(await h.port(sp.key));
    await new Promise((r) => client.once('data', r));
    client.resetAndDestroy();
    expect(await seen).toBe('ECONNRESET');
  });

  it('keeps 200 open connections working through endpoint churn', async () => {
    const backends = await Promise.all(['e1', 'e2', 'e3', 'e4', 'e5'].map((n) => echoServer(n).then((s) => res.add(s))));
    const [e1, e2, e3, e4, e5] = backends as [TcpBackend, TcpBackend, TcpBackend, TcpBackend, TcpBackend];
    const h = await harness();
    const sp = servicePort({ name: 'churn' });
    await h.sync([[sp, eps(e1, e2, e3)]]);
    const port = await h.port(sp.key);
    const clients: net.Socket[] = [];
    for (let i = 0; i < 200; i++) clients.push(await connect(port));
    for (const c of clients) res.add({ close: async () => void c.destroy() });
    // Prove every connection reached an endpoint before churning.
    await Promise.all(clients.map((c, i) => roundTrip(c, `before-${i};`)));

    await h.sync([[sp, eps(e4)]]);
    await h.sync([[sp, eps(e4, e5)]]);
    await h.sync([[sp, []]]);
    await h.sync([[sp, eps(e2, e5)]]);

    const replies = await Promise.all(clients.map((c, i) => roundTrip(c, `after-${i};`)));
    expect(replies).toEqual(clients.map((_, i) => `after-${i};`));
    expect(((await h.dp.describe?.(sp.key)) as { activeConnections: number }).activeConnections).toBe(200);
    // New connections only go to the current endpoints.
    const before = backends.map((b) => b.accepted.length);
    for (let i = 0; i < 4; i++) {
      const fresh = await connect(port);
      res.add({ close: async () => void fresh.destroy() });
      await roundTrip(fresh, 'new');
    }
    expect(backends.map((b, i) => b.accepted.length - before[i]!)).toEqual([0, 2, 0, 0, 2]);
  });
});

describe('userspace dataplane listeners', () => {
  it('rejects SCTP with a warning and still proxies the other ports', async () => {
    const a = res.add(await nameServer('a'));
    const { logger, lines } = memoryLogger();
    const h = await harness({ logger });
    const sctp = servicePort({ name: 'sig', protocol: 'SCTP' });
    const web = servicePort({ name: 'web' });
    await h.sync([
      [sctp, eps(a)],
      [web, eps(a)],
    ]);
    expect(lines.some((l) => /"level":"warn"/.test(l) && /SCTP/.test(l) && l.includes('default/sig:p'))).toBe(true);
    expect(((await h.dp.describe?.(sctp.key)) as { listener: unknown }).listener).toBeNull();
    expect((await tcpRequest(await h.port(web.key))).toString()).toBe('a');
    // Warned once, not on every sync.
    await h.sync([
      [sctp, eps(a)],
      [web, eps(a)],
    ]);
    expect(lines.filter((l) => /SCTP/.test(l))).toHaveLength(1);
  });

  it('keeps the listener of an unchanged port and closes the listener of a removed one', async () => {
    const a = res.add(await nameServer('a'));
    const h = await harness();
    const one = servicePort({ name: 'one' });
    const two = servicePort({ name: 'two' });
    await h.sync([
      [one, eps(a)],
      [two, eps(a)],
    ]);
    const p1 = await h.port(one.key);
    const p2 = await h.port(two.key);
    await h.sync([[one, eps(a)]]);
    expect(await h.port(one.key)).toBe(p1);
    await expect(h.port(two.key)).rejects.toThrow(/no listener/);
    await expect(tcpRequest(p2)).rejects.toThrow(/ECONNREFUSED/);
    expect((await tcpRequest(p1)).toString()).toBe('a');
  });
});

describe('black hole fixture', () => {
  it('leaves SYNs unanswered: a direct connect neither succeeds nor is refused', async () => {
    const hole = res.add(await blackHole());
    const outcome = await new Promise<string>((resolve) => {
      const s = net.connect({ port: hole.port, host: '127.0.0.1' });
      const timer = setTimeout(() => {
        s.destroy();
        resolve('no answer');
      }, 500);
      s.once('connect', () => resolve('connected'));
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve(e.code ?? 'error');
      });
    });
    expect(outcome).toBe('no answer');
  });
});
