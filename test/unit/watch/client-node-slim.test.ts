// client-node's config.js and cache.js are loaded from their own source with exactly the imports
// of the generated API pointed at stand-ins, every other import made absolute (client-node-slim.ts).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REDIRECTS, importSlim, rewriteImports } from '../../../proxy/client-node-slim.js';

const FILE = 'file:///app/node_modules/@kubernetes/client-node/dist/config.js';
const bare = (s: string): string => `file:///app/node_modules/${s}/index.js`;

describe('client-node-slim import rewriting', () => {
  it('redirects only the named specifiers, makes relative ones absolute, resolves packages, keeps builtins', () => {
    const src = [
      "import fs from 'node:fs';",
      "import yaml from 'js-yaml';",
      "import { exportCluster, exportContext, } from './config_types.js';",
      'import { createConfiguration, ServerConfiguration,',
      "} from './gen/index.js';",
      "export * from './types.js';",
      "import './side-effect.js';",
      "const s = 'import x from \'./gen/index.js\'';",
      "export function f() { return process.platform === 'win32'; }",
    ].join('\n');
    const { source, redirected } = rewriteImports(src, FILE, { './gen/index.js': 'file:///app/dist/proxy/client-node-slim-gen.js' }, bare);
    expect(redirected).toEqual(['./gen/index.js']);
    expect(source.split('\n')).toEqual([
      "import fs from 'node:fs';",
      "import yaml from 'file:///app/node_modules/js-yaml/index.js';",
      "import { exportCluster, exportContext, } from 'file:///app/node_modules/@kubernetes/client-node/dist/config_types.js';",
      'import { createConfiguration, ServerConfiguration,',
      "} from 'file:///app/dist/proxy/client-node-slim-gen.js';",
      "export * from 'file:///app/node_modules/@kubernetes/client-node/dist/types.js';",
      "import 'file:///app/node_modules/@kubernetes/client-node/dist/side-effect.js';",
      // A string that looks like an import is not one: left alone.
      "const s = 'import x from \'./gen/index.js\'';",
      "export function f() { return process.platform === 'win32'; }",
    ]);
  });

  it('the installed config.js and cache.js import exactly what REDIRECTS names (else the real file loads)', () => {
    for (const [file, redirects] of Object.entries(REDIRECTS)) {
      const src = readFileSync(new URL(`../../../node_modules/@kubernetes/client-node/dist/${file}`, import.meta.url), 'utf8');
      const { source, redirected } = rewriteImports(src, FILE, Object.fromEntries(Object.keys(redirects).map((k) => [k, 'stand-in:'])), bare);
      expect(redirected.sort()).toEqual(Object.keys(redirects).sort());
      // No relative specifier is left for the data: URL module to fail on.
      expect(source).not.toMatch(/from\s*['"]\.\.?\//);
    }
  });

  it('importSlim gives KubeConfig and ListWatch (here the real files: vitest has no import.meta.resolve; the daemon test: test/integration/client-node-slim.test.ts)', async () => {
    const { KubeConfig } = (await importSlim('config.js')) as typeof import('@kubernetes/client-node/dist/config.js');
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://198.19.0.1:6443' }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    expect(kc.getCurrentCluster()?.server).toBe('https://198.19.0.1:6443');
    expect(typeof ((await importSlim('cache.js')) as { ListWatch: unknown }).ListWatch).toBe('function');
  });
});

describe('client-node-slim stand-in informer constants', () => {
  it('are the real informer.js values', async () => {
    const stand = await import('../../../proxy/client-node-slim-informer.js');
    const real = await import('@kubernetes/client-node/dist/informer.js');
    for (const k of ['ADD', 'UPDATE', 'CHANGE', 'DELETE', 'CONNECT', 'ERROR'] as const) expect(stand[k]).toBe(real[k]);
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
