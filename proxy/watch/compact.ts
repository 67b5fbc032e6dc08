// What an informer keeps of each object, applied before the object enters its cache (client-go
// calls this a transform). Two things make a cached object bigger than it needs to be:
// - metadata.managedFields: server-side-apply bookkeeping, often the largest part of an object;
//   kube-proxy never reads it.
// - arrays built by client-node's deserializer, which grows every array by push(): V8 then
//   reserves room for 17 elements, so a one-address endpoint costs ~150 bytes for its array alone.
//   At 10,000 services × 10 endpoints that was ~20 MiB of the daemon's heap.
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
    if (typeof v !== 'object' || v === null || v instanceof Date) continue;
    if (Array.isArray(v)) o[k] = exactArray(v);
    else compactInPlace(v as Plain);
  }
}

/** A copy whose backing store holds exactly its elements (Array.from allocates to length). */
function exactArray(a: readonly unknown[]): unknown[] {
  const out = Array.from(a);
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (typeof v !== 'object' || v === null || v instanceof Date) continue;
    if (Array.isArray(v)) out[i] = exactArray(v);
    else compactInPlace(v as Plain);
  }
  return out;
}
