import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger, silentLogger } from '../../../proxy/log.js';
import { parseBindAddress, startHttpServer, type HttpListener } from '../../../proxy/http/listen.js';

const open: HttpListener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

describe('parseBindAddress', () => {
  it('parses host:port, [v6]:port and :port', () => {
    expect(parseBindAddress('127.0.0.1:10249')).toEqual({ host: '127.0.0.1', port: 10249 });
    expect(parseBindAddress('0.0.0.0:10256')).toEqual({ host: '0.0.0.0', port: 10256 });
    expect(parseBindAddress('[::1]:10249')).toEqual({ host: '::1', port: 10249 });
    expect(parseBindAddress('[::]:0')).toEqual({ host: '::', port: 0 });
    expect(parseBindAddress(':10256')).toEqual({ host: undefined, port: 10256 });
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['10249', '::1:10249', 'host:', 'host:99999', 'a:b']) {
      expect(() => parseBindAddress(bad), bad).toThrow(/bind address/);
    }
  });
});

describe('startHttpServer', () => {
  it('binds port 0 and reports the real port', async () => {
    const l = await startHttpServer('127.0.0.1:0', (_req, res) => void res.end('hi'), silentLogger);
    open.push(l);
    expect(l.host).toBe('127.0.0.1');
    expect(l.port).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${l.port}/`)).text()).toBe('hi');
  });

  it('turns a rejected async handler into a 500 and a log line', async () => {
    const { logger, lines } = memoryLogger();
    const l = await startHttpServer('127.0.0.1:0', async () => Promise.reject(new Error('kaput')), logger);
    open.push(l);
    const res = await fetch(`http://127.0.0.1:${l.port}/x`);
    expect(res.status).toBe(500);
    expect(lines.join('\n')).toContain('kaput');
  });

  it('rejects when the port is taken', async () => {
    const a = await startHttpServer('127.0.0.1:0', (_req, res) => void res.end(), silentLogger);
    open.push(a);
    await expect(startHttpServer(`127.0.0.1:${a.port}`, (_req, res) => void res.end(), silentLogger)).rejects.toThrow(/EADDRINUSE/);
  });

  it('close() resolves even with a keep-alive client connected', async () => {
    const l = await startHttpServer('127.0.0.1:0', (_req, res) => void res.end('x'), silentLogger);
    await (await fetch(`http://127.0.0.1:${l.port}/`, { headers: { connection: 'keep-alive' } })).text();
    await l.close();
    await expect(fetch(`http://127.0.0.1:${l.port}/`)).rejects.toThrow();
  });
});
