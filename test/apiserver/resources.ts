// The resource types the test apiserver serves, with what the wire protocol needs to know about
// each: where it lives in the URL space and what its List kind is called.

export type ResourceName = 'services' | 'endpoints' | 'endpointslices' | 'nodes';

export interface ResourceInfo {
  readonly name: ResourceName;
  readonly kind: string;
  readonly listKind: string;
  /** Group/version as it appears in objects, e.g. "v1" or "discovery.k8s.io/v1". */
  readonly apiVersion: string;
  /** URL prefix: "/api/v1" for the core group, "/apis/<group>/<version>" otherwise. */
  readonly prefix: string;
  readonly namespaced: boolean;
}

export const RESOURCES: readonly ResourceInfo[] = [
  { name: 'services', kind: 'Service', listKind: 'ServiceList', apiVersion: 'v1', prefix: '/api/v1', namespaced: true },
  { name: 'endpoints', kind: 'Endpoints', listKind: 'EndpointsList', apiVersion: 'v1', prefix: '/api/v1', namespaced: true },
  { name: 'nodes', kind: 'Node', listKind: 'NodeList', apiVersion: 'v1', prefix: '/api/v1', namespaced: false },
  {
    name: 'endpointslices',
    kind: 'EndpointSlice',
    listKind: 'EndpointSliceList',
    apiVersion: 'discovery.k8s.io/v1',
    prefix: '/apis/discovery.k8s.io/v1',
    namespaced: true,
  },
];

export function resourceByKind(kind: string | undefined): ResourceInfo {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`test apiserver: unsupported kind ${String(kind)}`);
  return r;
}

/** A request path resolved to a resource, with the optional namespace and object name. */
export interface ResolvedPath {
  readonly resource: ResourceInfo;
  /** undefined = all namespaces (or a cluster-scoped resource). */
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

/** Resolves `<prefix>/<plural>[/<name>]` and `<prefix>/namespaces/<ns>/<plural>[/<name>]`. */
export function resolvePath(pathname: string): ResolvedPath | undefined {
  for (const resource of RESOURCES) {
    if (!pathname.startsWith(resource.prefix + '/')) continue;
    const parts = pathname.slice(resource.prefix.length + 1).split('/').filter((p) => p !== '').map(decodeURIComponent);
    if (parts[0] === 'namespaces' && parts.length >= 3 && resource.namespaced) {
      if (parts[2] !== resource.name || parts.length > 4) continue;
      return { resource, namespace: parts[1], name: parts[3] };
    }
    if (parts[0] === resource.name && parts.length <= 2) {
      if (parts.length === 2 && resource.namespaced) continue; // namespaced GET needs a namespace
      return { resource, namespace: undefined, name: parts[1] };
    }
  }
  return undefined;
}
