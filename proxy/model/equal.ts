// Structural equality for the model's plain data (primitives, arrays, plain objects). The store
// uses it to decide whether a recomputed ServicePort/endpoint list really changed, so that an
// unchanged value keeps its old object identity (dataplanes cache renders by identity).

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for-in over own keys, not Object.keys: two key arrays per compared object were the largest
  // single allocation of the store's snapshot for changed slices (issue #13). Same keys: for-in
  // also lists inherited enumerable keys, which the hasOwn checks skip.
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let na = 0;
  for (const k in ra) {
    if (!hasOwn.call(ra, k)) continue;
    na++;
    if (!hasOwn.call(rb, k) || !deepEqual(ra[k], rb[k])) return false;
  }
  let nb = 0;
  for (const k in rb) if (hasOwn.call(rb, k)) nb++;
  return na === nb;
}

const hasOwn = Object.prototype.hasOwnProperty;
