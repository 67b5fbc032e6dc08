// The object store behind the test apiserver: objects keyed by resource and namespace/name, one
// global resourceVersion counter (as etcd's revision), and a change history watches replay from.

import { randomUUID } from 'node:crypto';
import { EventHistory, type KubeJson, type StoredEvent } from './history.js';
import { resourceByKind, type ResourceName } from './resources.js';

/** Anything shaped like a Kubernetes object (plain JSON or a client-node model). */
export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

export type ChangeListener = (e: StoredEvent) => void;

function keyOf(obj: KubeJson): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

function toJson(obj: ObjectLike): KubeJson {
  // A JSON round trip gives the wire form (Dates become strings) and a private copy.
  return JSON.parse(JSON.stringify(obj)) as KubeJson;
}

export class ObjectStore {
  private rv = 1;
  private readonly objects = new Map<ResourceName, Map<string, KubeJson>>();
  private readonly history: EventHistory;
  private readonly listeners = new Set<ChangeListener>();

  constructor(historySize: number) {
    this.history = new EventHistory(historySize);
  }

  currentRv(): number {
    return this.rv;
  }

  list(resource: ResourceName): KubeJson[] {
    return [...(this.objects.get(resource)?.values() ?? [])];
  }

  /**
   * The objects as they were at resourceVersion `rv` (what etcd's MVCC serves a paged list's later
   * pages from): the current ones with every change since `rv` undone, or 'expired' when the
   * history no longer reaches back that far (etcd's compaction).
   */
  listAt(resource: ResourceName, rv: number): KubeJson[] | 'expired' {
    const events = this.history.since(rv);
    if (events === 'expired') return 'expired';
    const byKey = new Map(this.objects.get(resource) ?? []);
    const undone = new Set<string>();
    for (const e of events) {
      if (e.resource !== resource) continue;
      const key = keyOf(e.object);
      // The first change after rv says what the object was at rv.
      if (undone.has(key)) continue;
      undone.add(key);
      if (e.previous === undefined) byKey.delete(key);
      else byKey.set(key, e.previous);
    }
    return [...byKey.values()];
  }

  get(resource: ResourceName, namespace: string, name: string): KubeJson | undefined {
    return this.objects.get(resource)?.get(`${namespace}/${name}`);
  }

  since(rv: number): readonly StoredEvent[] | 'expired' {
    return this.history.since(rv);
  }

  /** The oldest resourceVersion a watch can still start from. */
  oldestAvailable(): number {
    return this.history.oldestAvailable();
  }

  compact(): void {
    this.history.compact(this.rv);
  }

  subscribe(l: ChangeListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  create(input: ObjectLike): KubeJson {
    const { resource, obj, existing } = this.prepare(input);
    if (existing) throw new Error(`${resource} ${keyOf(obj)} already exists`);
    const meta = obj.metadata ?? {};
    obj.metadata = {
      ...meta,
      uid: meta['uid'] ?? randomUUID(),
      creationTimestamp: meta['creationTimestamp'] ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    return this.commit('ADDED', resource, obj, undefined);
  }

  update(input: ObjectLike): KubeJson {
    const { resource, obj, existing } = this.prepare(input);
    if (!existing) throw new Error(`${resource} ${keyOf(obj)} not found`);
    // Identity fields are the server's, as on a real apiserver.
    obj.metadata = {
      ...obj.metadata,
      uid: existing.metadata?.['uid'],
      creationTimestamp: existing.metadata?.['creationTimestamp'],
    };
    return this.commit('MODIFIED', resource, obj, existing);
  }

  upsert(input: ObjectLike): KubeJson {
    const { existing } = this.prepare(input);
    return existing ? this.update(input) : this.create(input);
  }

  /** Deletes and returns the final state of the object, or undefined when it did not exist. */
  delete(input: ObjectLike): KubeJson | undefined {
    const { resource, obj, existing } = this.prepare(input);
    if (!existing) return undefined;
    this.objects.get(resource)?.delete(keyOf(obj));
    const last = toJson(existing);
    last.metadata = { ...last.metadata, resourceVersion: String(++this.rv) };
    this.emit({ type: 'DELETED', resource, rv: this.rv, object: last, previous: existing });
    return last;
  }

  private prepare(input: ObjectLike): { resource: ResourceName; obj: KubeJson; existing: KubeJson | undefined } {
    const info = resourceByKind(input.kind);
    const obj = toJson(input);
    obj.apiVersion = info.apiVersion;
    if (!obj.metadata?.name) throw new Error(`${info.kind} without metadata.name`);
    if (info.namespaced) obj.metadata.namespace = obj.metadata.namespace || 'default';
    else delete obj.metadata.namespace;
    return { resource: info.name, obj, existing: this.get(info.name, obj.metadata.namespace ?? '', obj.metadata.name) };
  }

  private commit(type: 'ADDED' | 'MODIFIED', resource: ResourceName, obj: KubeJson, previous: KubeJson | undefined): KubeJson {
    obj.metadata = { ...obj.metadata, resourceVersion: String(++this.rv) };
    let byKey = this.objects.get(resource);
    if (!byKey) {
      byKey = new Map();
      this.objects.set(resource, byKey);
    }
    byKey.set(keyOf(obj), obj);
    this.emit({ type, resource, rv: this.rv, object: obj, previous });
    return toJson(obj);
  }

  private emit(e: StoredEvent): void {
    this.history.push(e);
    for (const l of this.listeners) l(e);
  }
}
