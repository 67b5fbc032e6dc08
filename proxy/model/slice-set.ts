// The EndpointSlices of one Service, by slice name. Nearly every Service has exactly one slice
// (the controller puts up to 100 endpoints in each), and a native Map per Service costs ~330
// bytes for its hash table alone (~16 MB at 50,000 Services): one slice is held as itself, and
// a Map only exists while a Service has two or more.

import type { V1EndpointSlice } from '@kubernetes/client-node';

export type SliceSet = V1EndpointSlice | ReadonlyMap<string, V1EndpointSlice>;

const nameOf = (s: V1EndpointSlice): string => s.metadata?.name ?? '';

function isMap(set: SliceSet): set is ReadonlyMap<string, V1EndpointSlice> {
  return set instanceof Map;
}

export function sliceNamed(set: SliceSet | undefined, name: string): V1EndpointSlice | undefined {
  if (set === undefined) return undefined;
  if (isMap(set)) return set.get(name);
  return nameOf(set) === name ? set : undefined;
}

/** `set` with `slice` recorded under `name` (replacing a slice of that name). */
export function withSlice(set: SliceSet | undefined, name: string, slice: V1EndpointSlice): SliceSet {
  if (set === undefined) return slice;
  if (!isMap(set)) {
    const other = nameOf(set);
    return other === name ? slice : new Map([[other, set], [name, slice]]);
  }
  const next = new Map(set);
  next.set(name, slice);
  return next;
}

/** `set` without the slice `name`; undefined when none is left. */
export function withoutSlice(set: SliceSet, name: string): SliceSet | undefined {
  if (!isMap(set)) return nameOf(set) === name ? undefined : set;
  if (!set.has(name)) return set;
  const rest = [...set].filter(([n]) => n !== name);
  if (rest.length === 0) return undefined;
  if (rest.length === 1) return rest[0]![1];
  return new Map(rest);
}

export function slicesOf(set: SliceSet): readonly V1EndpointSlice[] {
  return isMap(set) ? [...set.values()] : [set];
}
