// What an informer keeps of each object, applied before the object enters its cache (client-go
// calls this a transform). Two things make a cached object bigger than it needs to be:
// - metadata.managedFields: server-side-apply bookkeeping, often the largest part of an object;
//   kube-proxy never reads it.
// - arrays built by client-node's deserializer, which grows every array by push(): V8 then
//   reserves room for 17 elements, so a one-address endpoint costs ~150 bytes for its array alone.
//   At 10,000 services × 10 endpoints that was ~20 MiB of the daemon's heap.
// - repeated values held once per object: every endpoint's conditions object (48 bytes, one of
//   a handful of combinations) and strings longer than the 10 characters V8's JSON.parse already
//   shares ("discovery.k8s.io/v1", "EndpointSlice", "SingleStack", node and zone names, the
//   slice controller's managed-by label): ~50-100 bytes per endpoint and ~150 per object.
//   The shared values are equal to what was there, so nothing reading the cache can tell; the
//   shared conditions objects are frozen, so nothing can change one endpoint's through another.
// Everything else stays as the apiserver sent it, so a resync can re-deliver cached objects.

import type { Strip } from './strip.js';

type Plain = Record<string, unknown>;

/** `strip` (strip.ts) first drops the fields of the informer's kind that nothing reads. */
export function compactObject<T extends object>(obj: T, strip?: Strip): T {
  if (strip) strip(obj as Plain);
  else {
    const meta = (obj as { metadata?: { managedFields?: unknown } }).metadata;
    if (meta && meta.managedFields !== undefined) delete meta.managedFields;
  }
  compactInPlace(obj as Plain);
  return obj;
}

function compactInPlace(o: Plain): void {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === 'string') {
      if (INTERNED_KEYS.has(k)) o[k] = intern(v);
      continue;
    }
    if (typeof v !== 'object' || v === null || v instanceof Date) continue;
    if (Array.isArray(v)) o[k] = exactArray(v, k === 'ipFamilies');
    else if (k === 'conditions' && isEndpointConditions(v)) o[k] = sharedConditions(v);
    else if (k === 'labels') internValues(v as Plain, INTERNED_LABELS);
    else compactInPlace(v as Plain);
  }
}

/** A copy whose backing store holds exactly its elements (Array.from allocates to length). */
function exactArray(a: readonly unknown[], internStrings: boolean): unknown[] {
  const out = Array.from(a);
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (internStrings && typeof v === 'string') out[i] = intern(v);
    if (typeof v !== 'object' || v === null || v instanceof Date) continue;
    if (Array.isArray(v)) out[i] = exactArray(v, false);
    else compactInPlace(v as Plain);
  }
  return out;
}

/**
 * Fields whose values repeat across objects (kinds, API versions, enums, namespaces, node and
 * zone names, hint names): never unique ids, names, addresses or times, which would only fill
 * the table.
 */
const INTERNED_KEYS: ReadonlySet<string> = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'nodeName',
  'zone',
  'addressType',
  'protocol',
  'appProtocol',
  'type',
  'ipFamilyPolicy',
  'sessionAffinity',
  'externalTrafficPolicy',
  'internalTrafficPolicy',
]);
const INTERNED_LABELS: ReadonlySet<string> = new Set(['endpointslice.kubernetes.io/managed-by']);

/** Bounded: past this many distinct values (a huge or churning cluster) new ones stay unshared. */
const MAX_INTERNED = 50_000;
const interned = new Map<string, string>();

function intern(v: string): string {
  const known = interned.get(v);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(v, v);
  return v;
}

function internValues(o: Plain, keys: ReadonlySet<string>): void {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === 'string' && keys.has(k)) o[k] = intern(v);
  }
}

type Conditions = { ready?: boolean; serving?: boolean; terminating?: boolean };

/** A plain { ready, serving, terminating } object of booleans (as JSON.parse builds it). */
function isEndpointConditions(v: object): v is Conditions {
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  const keys = Object.keys(v);
  return keys.length <= 3 && keys.every((k) => CONDITION_KEYS.has(k) && typeof (v as Plain)[k] === 'boolean');
}

const CONDITION_KEYS: ReadonlySet<string> = new Set(['ready', 'serving', 'terminating']);
/** One frozen object per combination of keys (in order) and values: a few dozen at most. */
const conditionsTable = new Map<string, Conditions>();

function sharedConditions(c: Conditions): Conditions {
  // Key order is part of the identity, so the shared copy serializes exactly like the original.
  const id = Object.keys(c)
    .map((k) => `${k}=${String((c as Plain)[k])}`)
    .join(',');
  let shared = conditionsTable.get(id);
  if (shared === undefined) {
    // Same keys in the same order as the object it replaces (JSON output stays byte-identical).
    shared = Object.freeze({ ...c });
    conditionsTable.set(id, shared);
  }
  return shared;
}
