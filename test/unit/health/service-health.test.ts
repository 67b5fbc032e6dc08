import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceHealthServers, serviceHealthResponse } from '../../../proxy/health/service-health.js';
import { memoryLogger } from '../../../proxy/log.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

function setup() {
  const state = { healthy: true };
  const { logger, lines } = memoryLogger();
  const servers = new ServiceHealthServers({ health: { isHealthy: () => state.healthy }, logger, bindHost: '127.0.0.1' });
  cleanup.push(() => servers.close());
  const probe = async (port: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    return {
      status: res.status,
      weight: res.headers.get('x-load-balancing-endpoint-weight'),
      type: res.headers.get('content-type'),
      body: (await res.json()) as unknown,
    };
  };
  const portOf = (key: string) => {
    const p = servers.boundPorts().get(key)?.[0];
    if (p === undefined) throw new Error(`no listener for ${key}`);
    return p;
  };
  return { state, servers, probe, portOf, lines };
}

/** Reserve a free port by listening on 0; returns the port and a way to release it. */
async function occupyPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return { port: addr.port, release: () => new Promise<void>((r) => srv.close(() => r())) };
}

describe('serviceHealthResponse', () => {
  it('is 200 only with local endpoints and a healthy proxy', () => {
    expect(serviceHealthResponse('ns', 'a', 2, true).status).toBe(200);
    expect(serviceHealthResponse('ns', 'a', 0, true).status).toBe(503);
    expect(serviceHealthResponse('ns', 'a', 2, false).status).toBe(503);
  });
});

describe('ServiceHealthServers', () => {
  it('answers upstream JSON with the endpoint weight header', async () => {
    const { servers, probe, portOf } = setup();
    await servers.sync(new Map([['default/web', { port: 0, localEndpoints: 2 }]]));
    expect(await probe(portOf('default/web'))).toEqual({
      status: 200,
      weight: '2',
      type: 'application/json',
      body: { service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true },
    });
  });

  it('answers 503 with no local endpoints or an unhealthy proxy', async () => {
    const { state, servers, probe, portOf } = setup();
    await servers.sync(new Map([['ns/none', { port: 0, localEndpoints: 0 }], ['ns/some', { port: 0, localEndpoints: 1 }]]));
    expect((await probe(portOf('ns/none'))).status).toBe(503);
    expect((await probe(portOf('ns/some'))).status).toBe(200);
    state.healthy = false;
    const r = await probe(portOf('ns/some'));
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ serviceProxyHealthy: false, localEndpoints: 1 });
  });

  it('updates endpoint counts in place without reopening the listener', async () => {
    const { servers, probe, portOf } = setup();
    await servers.sync(new Map([['ns/a', { port: 0, localEndpoints: 0 }]]));
    const port = portOf('ns/a');
    expect((await probe(port)).status).toBe(503);
    await servers.sync(new Map([['ns/a', { port: 0, localEndpoints: 3 }]]));
    // Port 0 would pick a fresh ephemeral port on a reopen, so an unchanged port means no reopen.
    expect(portOf('ns/a')).toBe(port);
    expect(await probe(port)).toMatchObject({ status: 200, weight: '3' });
  });

  it('closes listeners of removed services', async () => {
    const { servers, portOf } = setup();
    await servers.sync(new Map([['ns/a', { port: 0, localEndpoints: 1 }]]));
    const port = portOf('ns/a');
    await servers.sync(new Map());
    expect(servers.boundPorts().size).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it('moves a service to a new port', async () => {
    const { servers, probe } = setup();
    const free = await occupyPort();
    await free.release();
    await servers.sync(new Map([['ns/a', { port: 0, localEndpoints: 1 }]]));
    await servers.sync(new Map([['ns/a', { port: free.port, localEndpoints: 1 }]]));
    expect(servers.boundPorts().get('ns/a')).toEqual([free.port]);
    expect((await probe(free.port)).status).toBe(200);
  });

  it('logs a listen failure and retries it on the next sync', async () => {
    const { servers, probe, lines } = setup();
    const blocker = await occupyPort();
    const want = new Map([['ns/a', { port: blocker.port, localEndpoints: 1 }]]);
    await servers.sync(want);
    expect(servers.boundPorts().get('ns/a')).toEqual([]);
    expect(lines.some((l) => l.includes('Failed to start healthcheck server') && l.includes('EADDRINUSE'))).toBe(true);
    await blocker.release();
    await servers.sync(want);
    expect(servers.boundPorts().get('ns/a')).toEqual([blocker.port]);
    expect((await probe(blocker.port)).status).toBe(200);
  });

  it('update() touches only the named services and retries a failed listen on a later partial update', async () => {
    const { servers, probe, portOf } = setup();
    const blocker = await occupyPort();
    await servers.sync(new Map([['ns/a', { port: 0, localEndpoints: 1 }], ['ns/b', { port: blocker.port, localEndpoints: 1 }]]));
    const portA = portOf('ns/a');
    expect(servers.boundPorts().get('ns/b')).toEqual([]);
    // A partial update naming only ns/c: ns/a stays (an update is not a whole desired set).
    await servers.update(new Map([['ns/c', { port: 0, localEndpoints: 2 }]]));
    expect(portOf('ns/a')).toBe(portA);
    expect((await probe(portOf('ns/c'))).weight).toBe('2');
    await blocker.release();
    await servers.update(new Map([['ns/a', { port: 0, localEndpoints: 5 }]]));
    expect(portOf('ns/a')).toBe(portA);
    expect((await probe(portA)).weight).toBe('5');
    expect(servers.boundPorts().get('ns/b')).toEqual([blocker.port]);
    await servers.update(new Map([['ns/a', undefined]]));
    expect([...servers.boundPorts().keys()].sort()).toEqual(['ns/b', 'ns/c']);
    await expect(fetch(`http://127.0.0.1:${portA}/`)).rejects.toThrow();
  });

  it('binds every address in bindHosts, all-or-nothing per service', async () => {
    const { logger, lines } = memoryLogger();
    const servers = new ServiceHealthServers({ health: { isHealthy: () => true }, logger, bindHosts: ['127.0.0.1', '127.0.0.1'] });
    cleanup.push(() => servers.close());
    const free = await occupyPort();
    await free.release();
    // The second bind of the same address fails, so the first listener must be rolled back.
    await servers.sync(new Map([['ns/a', { port: free.port, localEndpoints: 1 }]]));
    expect(servers.boundPorts().get('ns/a')).toEqual([]);
    expect(lines.some((l) => l.includes('EADDRINUSE'))).toBe(true);
    await expect(fetch(`http://127.0.0.1:${free.port}/`)).rejects.toThrow();
  });
});
