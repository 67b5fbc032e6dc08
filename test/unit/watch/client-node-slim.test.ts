// The resolve hook that keeps client-node's generated API out of the daemon redirects exactly the
// two imports it means to, from exactly the two files, and nothing else.

import { describe, expect, it } from 'vitest';
import { REDIRECTS, redirectFor, resolve } from '../../../proxy/client-node-slim.js';

const DIST = 'file:///app/node_modules/@kubernetes/client-node/dist/';
const BASE = 'file:///app/dist/proxy/client-node-slim.js';

describe('client-node-slim redirects', () => {
  it('config.js → gen/index.js and cache.js → serializer.js go to the stand-ins next to the hook', () => {
    expect(redirectFor('./gen/index.js', `${DIST}config.js`, BASE)).toBe('file:///app/dist/proxy/client-node-slim-gen.js');
    expect(redirectFor('./serializer.js', `${DIST}cache.js`, BASE)).toBe('file:///app/dist/proxy/client-node-slim-serializer.js');
  });

  it('leaves every other importer and specifier alone', () => {
    // The package's root index and api.js need the whole generated client (tests use it).
    expect(redirectFor('./gen/index.js', `${DIST}api.js`, BASE)).toBeUndefined();
    expect(redirectFor('./gen/index.js', `${DIST}metrics.js`, BASE)).toBeUndefined();
    expect(redirectFor('./serializer.js', `${DIST}object.js`, BASE)).toBeUndefined();
    expect(redirectFor('./config_types.js', `${DIST}config.js`, BASE)).toBeUndefined();
    // A file of the same name outside client-node, and no importer at all (the entry point).
    expect(redirectFor('./gen/index.js', 'file:///app/dist/config.js', BASE)).toBeUndefined();
    expect(redirectFor('./gen/index.js', undefined, BASE)).toBeUndefined();
    expect(Object.keys(REDIRECTS).sort()).toEqual(['cache.js', 'config.js']);
  });

  it('resolve() short-circuits a redirect and hands everything else to the next resolver', async () => {
    const seen: string[] = [];
    const next = async (s: string): Promise<{ url: string }> => {
      seen.push(s);
      return { url: `next:${s}` };
    };
    const hit = await resolve('./gen/index.js', { parentURL: `${DIST}config.js` }, next);
    expect(hit.shortCircuit).toBe(true);
    expect(hit.url).toMatch(/\/client-node-slim-gen\.js$/);
    expect(await resolve('node:fs', { parentURL: `${DIST}config.js` }, next)).toEqual({ url: 'next:node:fs' });
    expect(seen).toEqual(['node:fs']);
  });
});

describe('client-node-slim stand-in serializer', () => {
  it('passes strings through as the real one does and refuses anything else', async () => {
    const { ObjectSerializer } = await import('../../../proxy/client-node-slim-serializer.js');
    const real = (await import('@kubernetes/client-node/dist/serializer.js')).ObjectSerializer;
    for (const sel of ['!service.kubernetes.io/headless', 'metadata.name=node-a', '']) {
      expect(ObjectSerializer.serialize(sel, 'string')).toBe(real.serialize(sel, 'string'));
    }
    expect(() => ObjectSerializer.serialize({}, 'V1Service')).toThrow(/not available in the daemon/);
    expect(() => ObjectSerializer.deserialize({}, 'V1Service')).toThrow(/not available in the daemon/);
  });
});
