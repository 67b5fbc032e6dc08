// How the TCP proxy dials endpoints: upstream's escalating timeouts (250 ms, 500 ms, 1 s, 2 s),
// then a reset. The client side is a real loopback connection; the endpoint dials go to a fake
// dialer (a black hole unless told otherwise) and their timers to a FakeClock, so each timeout is
// checked to the millisecond without waiting for it.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadBalancer, type Target } from '../../../modes/userspace/balancer.js';
import { ENDPOINT_DIAL_TIMEOUTS_MS, TcpProxy, type TcpProxyHooks } from '../../../modes/userspace/tcp-proxy.js';
import { FakeClock } from '../../../sync/clock.js';
import { Resources, connect, echoServer, roundTrip } from './net-fixtures.js';

const res = new Resources();
afterEach(() => res.closeAll());

const target = (name: string, port = 80): Target => ({ id: `${name}:${port}`, host: '127.0.0.1', port });
const A = target('a');
const B = target('b');

type Behaviour = 'blackhole' | 'refuse' | { readonly connectTo: number };

interface Rig {
  readonly clock: FakeClock;
  /** Every dial the proxy started: endpoint id and fake time. */
  readonly dials: Array<{ readonly id: string; readonly at: number }>;
  readonly errors: Array<{ readonly id: string; readonly message: string; readonly timedOut: boolean }>;
  readonly successes: string[];
  readonly gaveUp: number[];
  readonly port: number;
}

async function rig(targets: readonly Target[], behaviour: (t: Target) => Behaviour = () => 'blackhole'): Promise<Rig> {
  const clock = new FakeClock(1_000);
  const balancer = new LoadBalancer(() => clock.now());
  balancer.update('svc', targets, { type: 'None' });
  const r = { clock, dials: [], errors: [], successes: [], gaveUp: [] } as Omit<Rig, 'port'> & {
    dials: Rig['dials'][number][];
    errors: Rig['errors'][number][];
    successes: string[];
    gaveUp: number[];
  };
  const hooks: TcpProxyHooks = {
    pick: (ip, exclude, avoid) => balancer.next('svc', ip, exclude, avoid),
    onDialError: (t, err, timedOut) => r.errors.push({ id: t.id, message: err.message, timedOut }),
    onDialSuccess: (t) => r.successes.push(t.id),
    onConnectionOpen: () => undefined,
    onConnectionClose: () => undefined,
    onNoEndpoint: (_ip, attempts) => r.gaveUp.push(attempts),
  };
  const proxy = await TcpProxy.listen({
    host: '127.0.0.1',
    hooks,
    timers: clock,
    connect: (socket: net.Socket, t: Target) => {
      r.dials.push({ id: t.id, at: clock.now() });
      const b = behaviour(t);
      if (b === 'refuse') {
        const err = Object.assign(new Error(`connect ECONNREFUSED ${t.id}`), { code: 'ECONNREFUSED' });
        process.nextTick(() => socket.destroy(err));
      } else if (b !== 'blackhole') socket.connect({ host: '127.0.0.1', port: b.connectTo });
      // A black hole: the SYN is never answered, only the proxy's timer ends the attempt.
    },
  });
  res.add(proxy);
  return { ...r, port: proxy.port };
}

/** Yield to real I/O until `cond` holds (the client's connection reaching the proxy, a refusal). */
async function until(cond: () => boolean, what: string): Promise<void> {
  // Real time, not turns of the event loop: a loaded machine may take a while to accept.
  const deadline = Date.now() + 10_000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** A client connection that records how it ended. */
async function client(port: number): Promise<{ sock: net.Socket; ended: () => string | undefined }> {
  const sock = await connect(port);
  res.add({ close: async () => void sock.destroy() });
  let end: string | undefined;
  sock.on('error', (e: NodeJS.ErrnoException) => (end ??= e.code ?? e.message));
  sock.on('close', () => (end ??= 'closed'));
  return { sock, ended: () => end };
}

/**
 * Advance the fake clock 1 ms short of `ms` and check no new dial started, then to `ms` and check
 * one did (or, for the last attempt, that the proxy gave up).
 */
function expectAttemptEndsAfter(r: Rig, ms: number): void {
  const before = r.dials.length;
  r.clock.advance(ms - 1);
  expect(r.dials.length, `attempt ${before} still running after ${ms - 1} ms`).toBe(before);
  r.clock.advance(1);
}

describe('TCP proxy dial timeouts', () => {
  it('are upstream EndpointDialTimeouts', () => {
    expect(ENDPOINT_DIAL_TIMEOUTS_MS).toEqual([250, 500, 1000, 2000]);
  });

  it('escalate 250, 500, 1000, 2000 ms across black-holed endpoints, then reset the client', async () => {
    const r = await rig([A, B]);
    const c = await client(r.port);
    await until(() => r.dials.length === 1, 'the first dial');
    for (const ms of [250, 500, 1000]) {
      const n = r.dials.length;
      expectAttemptEndsAfter(r, ms);
      expect(r.dials.length).toBe(n + 1);
    }
    expectAttemptEndsAfter(r, 2000);
    expect(r.dials.length).toBe(4);
    expect(r.gaveUp).toEqual([4]);
    // Each attempt asked the balancer again: A, B, then (both timed out) A and B again.
    expect(r.dials.map((d) => [d.id, d.at - 1_000])).toEqual([
      ['a:80', 0],
      ['b:80', 250],
      ['a:80', 750],
      ['b:80', 1750],
    ]);
    expect(r.errors).toEqual([
      { id: 'a:80', message: 'connect timeout after 250ms', timedOut: true },
      { id: 'b:80', message: 'connect timeout after 500ms', timedOut: true },
      { id: 'a:80', message: 'connect timeout after 1000ms', timedOut: true },
      { id: 'b:80', message: 'connect timeout after 2000ms', timedOut: true },
    ]);
    await until(() => c.ended() !== undefined, 'the client reset');
    expect(c.ended()).toBe('ECONNRESET');
    expect(r.clock.pendingTimers()).toBe(0);
  });

  it('give a lone endpoint that does not answer every timeout in turn', async () => {
    const r = await rig([A]);
    await client(r.port);
    await until(() => r.dials.length === 1, 'the first dial');
    for (const ms of ENDPOINT_DIAL_TIMEOUTS_MS) expectAttemptEndsAfter(r, ms);
    expect(r.dials.map((d) => [d.id, d.at - 1_000])).toEqual([
      ['a:80', 0],
      ['a:80', 250],
      ['a:80', 750],
      ['a:80', 1750],
    ]);
    expect(r.gaveUp).toEqual([4]);
  });

  it('never re-dial an endpoint that refused; a refusal uses up its attempt', async () => {
    const r = await rig([A, B], (t) => (t.id === A.id ? 'refuse' : 'blackhole'));
    const c = await client(r.port);
    await until(() => r.dials.length === 2, 'the refusal and the second dial');
    // A refused at once (attempt 1, 250 ms unused); B then gets 500, 1000 and 2000 ms.
    for (const ms of [500, 1000, 2000]) expectAttemptEndsAfter(r, ms);
    expect(r.dials.map((d) => [d.id, d.at - 1_000])).toEqual([
      ['a:80', 0],
      ['b:80', 0],
      ['b:80', 500],
      ['b:80', 1500],
    ]);
    expect(r.errors.map((e) => [e.id, e.timedOut])).toEqual([
      ['a:80', false],
      ['b:80', true],
      ['b:80', true],
      ['b:80', true],
    ]);
    expect(r.gaveUp).toEqual([4]);
    await until(() => c.ended() !== undefined, 'the client reset');
    expect(c.ended()).toBe('ECONNRESET');
  });

  it('splice the client to the next endpoint once the black-holed one timed out', async () => {
    const echo = res.add(await echoServer('echo'));
    const r = await rig([A, B], (t) => (t.id === A.id ? 'blackhole' : { connectTo: echo.port }));
    const c = await client(r.port);
    await until(() => r.dials.length === 1, 'the first dial');
    expectAttemptEndsAfter(r, 250);
    await until(() => r.successes.length === 1, 'the second dial to connect');
    expect(r.successes).toEqual(['b:80']);
    expect(await roundTrip(c.sock, 'hello')).toBe('hello');
    expect(r.errors).toEqual([{ id: 'a:80', message: 'connect timeout after 250ms', timedOut: true }]);
    expect(r.gaveUp).toEqual([]);
    // The connected attempt's timer was cleared: nothing can fire into a spliced connection.
    expect(r.clock.pendingTimers()).toBe(0);
  });

  it('reject an empty or non-positive timeout list', async () => {
    const hooks = {} as TcpProxyHooks;
    await expect(TcpProxy.listen({ host: '127.0.0.1', hooks, dialTimeoutsMs: [] })).rejects.toThrow(/dialTimeoutsMs/);
    await expect(TcpProxy.listen({ host: '127.0.0.1', hooks, dialTimeoutsMs: [250, 0] })).rejects.toThrow(/dialTimeoutsMs/);
  });
});
