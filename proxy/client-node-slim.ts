// A module-resolution hook (node:module register(), installed by main.ts before the daemon loads)
// that keeps client-node's generated API out of the daemon. client-node's config.js (KubeConfig)
// imports its whole generated client (gen/index.js: every API group's classes and ~700 models)
// for makeApiClient alone, and cache.js (ListWatch) imports the model serializer to copy two
// selector strings. Loading those costs ~25 MiB of live heap and ~60 MiB RSS; the daemon uses
// neither (its lists are plain GETs: watch/list.ts). Only these two imports, from these two
// files, are redirected to small stand-ins that export what the importer uses
// (client-node-slim-gen.ts, client-node-slim-serializer.ts). Everything else, and every other
// importer of the same files (the package's root index, tests), loads the real modules.

const PKG = '/node_modules/@kubernetes/client-node/dist/';

/** importer file (under client-node's dist/) → specifier → stand-in module next to this one. */
export const REDIRECTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'config.js': { './gen/index.js': './client-node-slim-gen.js' },
  'cache.js': { './serializer.js': './client-node-slim-serializer.js' },
};

/** Pure: the URL of the stand-in for `specifier` imported by `parentURL`, or undefined. */
export function redirectFor(specifier: string, parentURL: string | undefined, base: string = import.meta.url): string | undefined {
  if (parentURL === undefined) return undefined;
  const at = parentURL.lastIndexOf(PKG);
  if (at < 0) return undefined;
  const target = REDIRECTS[parentURL.slice(at + PKG.length)]?.[specifier];
  return target === undefined ? undefined : new URL(target, base).href;
}

interface ResolveContext {
  readonly parentURL?: string;
}
interface ResolveResult {
  readonly url: string;
  readonly shortCircuit?: boolean;
}

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: (specifier: string, context: ResolveContext) => Promise<ResolveResult>,
): Promise<ResolveResult> {
  const url = redirectFor(specifier, context.parentURL);
  return url !== undefined ? { url, shortCircuit: true } : nextResolve(specifier, context);
}
