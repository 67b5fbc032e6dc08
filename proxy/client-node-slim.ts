// Loads client-node's config.js (KubeConfig) and cache.js (ListWatch) without its generated API.
// config.js imports its whole generated client (gen/index.js: every API group's classes and ~700
// models) for makeApiClient alone, and cache.js imports the model serializer to copy two selector
// strings (and its informer.js, for six event names, imports the real cache.js back). Loading those costs ~25 MiB of live heap and ~60 MiB RSS; the daemon uses neither (its
// lists are plain GETs: watch/list.ts). So these two files are loaded from their own source with
// exactly those two imports pointed at small stand-ins (client-node-slim-gen.ts,
// client-node-slim-serializer.ts) and every other import made absolute, as a data: URL module.
//
// Why not a module-resolution hook (node:module register(), what this was until now): in Node 20
// a hook runs in a worker thread of its own for the life of the process, ~10 MiB RSS (measured:
// KubeConfig loaded through the hook 73.5-75 MiB RSS, through this 62-68 MiB), and starting that
// worker resets V8 flags set at run time (memory-settings.ts). Node 20 has no in-thread hooks.
//
// If the source does not have the expected shape (a client-node upgrade), the real module is
// loaded instead: the daemon then works as before, only bigger.

import { existsSync, readFileSync } from 'node:fs';

/** File under client-node's dist/ → specifier it imports → stand-in module next to this one. */
export const REDIRECTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'config.js': { './gen/index.js': './client-node-slim-gen.js' },
  'cache.js': { './serializer.js': './client-node-slim-serializer.js', './informer.js': './client-node-slim-informer.js' },
};

/** Static `import ... from 'x'`, `export ... from 'x'` and `import 'x'` at the start of a line. */
const STATIC_IMPORT = /^(\s*(?:import|export)\b[^;'"()]*?\bfrom\s*|\s*import\s*)(['"])([^'"]+)\2/gm;

/**
 * Pure: `source` (a file in client-node's dist/, at `fileUrl`) with every static import's
 * specifier made absolute: the redirects to `stand-ins`, relative ones against the file,
 * `node:` builtins as they are, packages through `resolveBare`.
 */
export function rewriteImports(source: string, fileUrl: string, redirects: Readonly<Record<string, string>>, resolveBare: (specifier: string) => string): { source: string; redirected: string[] } {
  const redirected: string[] = [];
  const out = source.replace(STATIC_IMPORT, (_m, head: string, q: string, spec: string) => {
    let to: string;
    if (redirects[spec] !== undefined) {
      to = redirects[spec];
      redirected.push(spec);
    } else if (spec.startsWith('./') || spec.startsWith('../')) to = new URL(spec, fileUrl).href;
    else if (spec.startsWith('node:')) to = spec;
    else to = resolveBare(spec);
    return `${head}${q}${to}${q}`;
  });
  return { source: out, redirected };
}

/** Node's own ES module resolution from here (absent where a test runner transforms modules). */
class NoEsmResolve extends Error {}
function esmResolve(specifier: string): string {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolve !== 'function') throw new NoEsmResolve('import.meta.resolve is not available');
  return resolve(specifier);
}

/** A package client-node imports, resolved as client-node would: refused if it has its own copy. */
function resolverFrom(dist: URL): (specifier: string) => string {
  return (specifier) => {
    const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
    if (existsSync(new URL(`../node_modules/${name}`, dist))) throw new Error(`client-node has its own copy of ${name}`);
    return esmResolve(specifier);
  };
}

/** client-node's dist/`file` without the imports in REDIRECTS (or the real one, see above). */
export async function importSlim(file: keyof typeof REDIRECTS): Promise<unknown> {
  const real = `@kubernetes/client-node/dist/${file}`;
  try {
    const dist = new URL('./', esmResolve('@kubernetes/client-node'));
    const resolveBare = resolverFrom(dist);
    const fileUrl = new URL(file, dist).href;
    const stand = Object.fromEntries(Object.entries(REDIRECTS[file]!).map(([spec, to]) => [spec, new URL(to, import.meta.url).href]));
    const { source, redirected } = rewriteImports(readFileSync(new URL(fileUrl), 'utf8'), fileUrl, stand, resolveBare);
    if (redirected.length !== Object.keys(stand).length) throw new Error(`expected imports ${Object.keys(stand).join(', ')} not found`);
    return await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);
  } catch (err) {
    // Under a test runner that transforms modules (vitest) the real file is expected; elsewhere say so.
    if (!(err instanceof NoEsmResolve)) process.emitWarning(`kube-proxy-ts: loading client-node's ${file} in full (${err instanceof Error ? err.message : String(err)})`);
    return import(real);
  }
}
