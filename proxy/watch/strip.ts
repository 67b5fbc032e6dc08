// What of each object the informers keep (applied with compact.ts before an object enters the
// ListWatch cache and the model, so both hold only this). Real objects carry much that kube-proxy
// never reads and that would otherwise stay in the daemon's heap for every cached object:
// - kubectl's last-applied-configuration annotation: a second full copy of the object as JSON;
// - metadata.managedFields and ownerReferences;
// - each endpoint's targetRef (the Pod's kind/namespace/name/uid), ~40% of an endpoint's bytes;
// - a Node's status beyond its addresses: the image list (often tens of KB), conditions,
//   nodeInfo, capacity;
// - a Service's status.conditions.
// Only fields no code in proxy/model (or anything fed from the cache: resync, debug state) reads
// are dropped; test/unit/watch/strip.test.ts checks that the model built from stripped objects
// equals the one built from full objects.

type Plain = Record<string, unknown>;

/** Drops unread fields of one object of the informer's kind, in place (returns the object). */
export type Strip = (obj: Plain) => Plain;

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A copy of `o` without `keys`, built as a fresh literal: `delete` would leave V8's object in
 * dictionary mode, which costs more memory than the field did.
 */
function without(o: Plain, keys: readonly string[]): Plain {
  if (!keys.some((k) => k in o)) return o;
  const out: Plain = {};
  for (const k of Object.keys(o)) if (!keys.includes(k)) out[k] = o[k];
  return out;
}

function stripMetadata(obj: Plain): void {
  const meta = obj['metadata'];
  if (!isPlain(meta)) return;
  const m = without(meta, ['managedFields', 'ownerReferences']);
  const ann = m['annotations'];
  if (isPlain(ann) && LAST_APPLIED_ANNOTATION in ann) m['annotations'] = without(ann, [LAST_APPLIED_ANNOTATION]);
  obj['metadata'] = m;
}

function mapArray(v: unknown, f: (x: Plain) => Plain): unknown {
  return Array.isArray(v) ? v.map((x: unknown) => (isPlain(x) ? f(x) : x)) : v;
}

export const stripService: Strip = (obj) => {
  stripMetadata(obj);
  if (isPlain(obj['status'])) obj['status'] = without(obj['status'], ['conditions']);
  return obj;
};

export const stripEndpointSlice: Strip = (obj) => {
  stripMetadata(obj);
  if ('endpoints' in obj) obj['endpoints'] = mapArray(obj['endpoints'], (ep) => without(ep, ['targetRef', 'deprecatedTopology']));
  return obj;
};

/** v1 Endpoints (--use-endpoints): the addresses' targetRef. */
export const stripEndpoints: Strip = (obj) => {
  stripMetadata(obj);
  if ('subsets' in obj) {
    obj['subsets'] = mapArray(obj['subsets'], (s) => {
      const out = { ...s };
      for (const k of ['addresses', 'notReadyAddresses']) if (k in out) out[k] = mapArray(out[k], (a) => without(a, ['targetRef']));
      return out;
    });
  }
  return obj;
};

export const stripNode: Strip = (obj) => {
  stripMetadata(obj);
  const st = obj['status'];
  if (isPlain(st)) obj['status'] = 'addresses' in st ? { addresses: st['addresses'] } : {};
  return obj;
};
