// The model store: the ClusterEventSink the watch layer feeds, and the producer of ProxyState.
//
// Event handlers only record the new object and mark its Service dirty (O(1)); all conversion
// happens in snapshot(), and only for dirty Services. Unchanged ServicePort objects and endpoint
// arrays keep their identity across snapshots so dataplanes can cache renders by identity. The
// state's two maps are persistent (persistent-map.ts): a snapshot after k changes costs
// O(k · log S) and shares every unchanged entry with the previous snapshot, which stays valid.

import type { V1EndpointSlice, V1Endpoints, V1Node, V1Service } from '@kubernetes/client-node';
import { deepEqual } from './equal.js';
import type { ClusterEventSink } from './events.js';
import {
  endpointsForServicePort,
  endpointsFromSlice,
  endpointsFromV1Endpoints,
  mergeEndpoints,
  reuseConversion,
  reuseEndpoints,
  sliceServiceName,
  triggerTimeOf,
  type EndpointsByPort,
  type EndpointsConversion,
} from './endpoints.js';
import { defaultNodeInfo, nodeInfoFromNode } from './node.js';
import { emptyPersistentMap, NewestIndex, PersistentMapView, type PersistentMap } from './persistent-map.js';
import { exactList, namespacedName, servicePortsFromService } from './service.js';
import { sliceNamed, slicesOf, withSlice, withoutSlice, type SliceSet } from './slice-set.js';
import type { ChangeSet, Endpoint, FieldError, NodeInfo, ProxyState, RejectedObject, ServicePort } from './types.js';
import { silentLogger, type Logger } from '../log.js';

/** Services with this label belong to another proxy implementation (KEP-2447). */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
/** Endpoints of headless Services: nothing to proxy. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export interface ModelStoreOptions {
  readonly nodeName: string;
  readonly logger?: Logger;
  /** Clock for RejectedObject.time (tests). */
  readonly now?: () => Date;
}

export interface ModelSnapshot {
  readonly state: ProxyState;
  readonly changes: ChangeSet;
  /** Objects newly rejected since the previous snapshot (each reported once per change). */
  readonly rejected: RejectedObject[];
}

export interface ObjectCounts {
  readonly services: number;
  readonly endpointSlices: number;
  readonly endpoints: number;
  readonly nodes: number;
}

type Meta = { metadata?: { namespace?: string; name?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string> } };

const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);
const NO_PORTS: readonly ServicePort[] = Object.freeze([]);

function nsName(obj: Meta): string | undefined {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  return ns && name ? namespacedName(ns, name) : undefined;
}

/** A relist re-delivers every object; skipping identical versions keeps the dirty set honest. */
function sameVersion(a: Meta | undefined, b: Meta): boolean {
  const rv = b.metadata?.resourceVersion;
  return a !== undefined && rv !== undefined && a.metadata?.resourceVersion === rv && a.metadata?.uid === b.metadata?.uid;
}

export class ModelStore implements ClusterEventSink {
  private readonly nodeName: string;
  private readonly log: Logger;
  private readonly now: () => Date;

  // Raw objects, as last recorded.
  private readonly services = new Map<string, V1Service>();
  /** Service "ns/name" → its slices by name. */
  private readonly slicesByService = new Map<string, SliceSet>();
  /** Slice "ns/sliceName" → owning Service "ns/name" (a slice's owner label can change). */
  private readonly sliceOwner = new Map<string, string>();
  private readonly legacyEndpoints = new Map<string, V1Endpoints>();
  private node: V1Node | undefined;
  private nodeDeleted = false;

  // Pending work.
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyEndpoints = new Set<string>();
  private nodeDirty = true;
  private triggerTimes: number[] = [];
  private pendingRejected: RejectedObject[] = [];

  // Derived state, changed only inside snapshot(). servicePorts and endpointLists are the
  // persistent maps behind the last state handed out (never mutated: snapshot() edits transient
  // copies of them, which share all untouched nodes).
  private readonly portsByService = new Map<string, readonly ServicePort[]>();
  private servicePorts: PersistentMap<string, ServicePort> = emptyPersistentMap();
  private endpointLists: PersistentMap<string, readonly Endpoint[]> = emptyPersistentMap();
  /** Native mirrors of the two maps, for fast lookups in the newest state (persistent-map.ts). */
  private readonly portIndex = new NewestIndex<string, ServicePort>();
  private readonly listIndex = new NewestIndex<string, readonly Endpoint[]>();
  /** Parses and conversions cached per object identity: each object is converted once per
   * version, and an entry goes with its object (no per-name wrapper record to keep). */
  private readonly parsedServices = new WeakMap<V1Service, readonly ServicePort[]>();
  private readonly conversions = new WeakMap<object, EndpointsByPort>();
  /**
   * An updated object's previous version's conversion, until the new version is converted: the
   * new conversion keeps the previous one's Endpoint objects that did not change. Else the model's
   * lists (which keep them: reuseEndpoints) and the new conversion (cached with the object) each
   * held a copy of every unchanged endpoint of a changed slice: +7,931 Endpoint objects (+8.7 MiB
   * at 10,000 services) after 10,000 changes at 1,000 x 10, RSS not stable under churn (#18).
   */
  private readonly previousConversions = new WeakMap<object, EndpointsByPort>();
  private readonly rejectionMap = new Map<string, RejectedObject>();
  private state: ProxyState;

  constructor(opts: ModelStoreOptions) {
    this.nodeName = opts.nodeName;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    this.state = {
      services: this.newView(this.servicePorts, this.portIndex),
      endpoints: this.newView(this.endpointLists, this.listIndex),
      node: defaultNodeInfo(opts.nodeName),
    };
  }

  // ---- ClusterEventSink: record only ----

  upsertService(svc: V1Service): void {
    const key = nsName(svc);
    if (key === undefined) return;
    if (svc.metadata?.labels?.[SERVICE_PROXY_NAME_LABEL] !== undefined) {
      // Handed to another proxy (possibly by a label added later): forget it if we had it.
      this.forgetService(key);
      this.clearRejection('Service', key);
      return;
    }
    if (sameVersion(this.services.get(key), svc)) return;
    this.services.set(key, svc);
    this.dirtyServices.add(key);
  }

  deleteService(svc: V1Service): void {
    const key = nsName(svc);
    if (key === undefined) return;
    this.forgetService(key);
    this.clearRejection('Service', key);
  }

  /** A Service gone from the model; its object is parsed (and rejected) afresh if it comes back. */
  private forgetService(key: string): void {
    const old = this.services.get(key);
    if (old === undefined) return;
    this.services.delete(key);
    this.parsedServices.delete(old);
    this.dirtyServices.add(key);
  }

  upsertEndpointSlice(slice: V1EndpointSlice): void {
    const id = nsName(slice);
    if (id === undefined) return;
    const owner = slice.metadata?.labels?.[HEADLESS_LABEL] !== undefined ? undefined : sliceServiceName(slice);
    const prevOwner = this.sliceOwner.get(id);
    const sliceName = slice.metadata?.name ?? '';
    if (prevOwner !== undefined && prevOwner !== owner) this.removeSlice(id, prevOwner, sliceName);
    if (owner === undefined) {
      this.clearRejection('EndpointSlice', id);
      return;
    }
    const slices = this.slicesByService.get(owner);
    const prev = sliceNamed(slices, sliceName);
    if (sameVersion(prev, slice)) return;
    this.keepPreviousConversion(prev, slice);
    this.slicesByService.set(owner, withSlice(slices, sliceName, slice));
    this.sliceOwner.set(id, owner);
    this.dirtyEndpoints.add(owner);
    this.recordTriggerTime(slice);
  }

  deleteEndpointSlice(slice: V1EndpointSlice): void {
    const id = nsName(slice);
    if (id === undefined) return;
    const owner = this.sliceOwner.get(id);
    if (owner !== undefined) this.removeSlice(id, owner, slice.metadata?.name ?? '');
    this.clearRejection('EndpointSlice', id);
  }

  upsertEndpoints(ep: V1Endpoints): void {
    const key = nsName(ep);
    if (key === undefined) return;
    if (ep.metadata?.labels?.[HEADLESS_LABEL] !== undefined) {
      this.deleteEndpoints(ep);
      return;
    }
    const prev = this.legacyEndpoints.get(key);
    if (sameVersion(prev, ep)) return;
    this.keepPreviousConversion(prev, ep);
    this.legacyEndpoints.set(key, ep);
    this.dirtyEndpoints.add(key);
    this.recordTriggerTime(ep);
  }

  deleteEndpoints(ep: V1Endpoints): void {
    const key = nsName(ep);
    if (key === undefined) return;
    if (this.legacyEndpoints.delete(key)) this.dirtyEndpoints.add(key);
    this.clearRejection('Endpoints', key);
  }

  upsertNode(node: V1Node): void {
    if (node.metadata?.name !== this.nodeName) return;
    if (!this.nodeDeleted && sameVersion(this.node, node)) return;
    if (this.nodeDeleted) this.log.info('own Node re-created', { node: this.nodeName });
    this.node = node;
    this.nodeDeleted = false;
    this.nodeDirty = true;
  }

  deleteNode(node: V1Node): void {
    if (node.metadata?.name !== this.nodeName) return;
    if (!this.nodeDeleted) {
      // The one visible sign of why /healthz starts failing: say it when it happens.
      this.log.warn('own Node deleted; /healthz reports 503 (not eligible for load-balancer traffic) until it is re-created', {
        node: this.nodeName,
      });
    }
    this.node = undefined;
    this.nodeDeleted = true;
    this.nodeDirty = true;
    this.clearRejection('Node', this.nodeName);
  }

  // ---- queries ----

  /** Distinct Services with a recorded but not yet snapshotted Service / endpoints change. */
  pendingCounts(): { services: number; endpoints: number } {
    return { services: this.dirtyServices.size, endpoints: this.dirtyEndpoints.size };
  }

  /** The latest rejection of every object that is currently invalid. */
  rejections(): RejectedObject[] {
    return [...this.rejectionMap.values()];
  }

  objectCounts(): ObjectCounts {
    return {
      services: this.services.size,
      endpointSlices: this.sliceOwner.size,
      endpoints: this.legacyEndpoints.size,
      nodes: this.node === undefined ? 0 : 1,
    };
  }

  /** The state as of the last snapshot(). */
  current(): ProxyState {
    return this.state;
  }

  // ---- apply ----

  snapshot(): ModelSnapshot {
    const changed = new Set<string>();
    const removed = new Set<string>();
    // Transient (mutable) copies: O(1) to make; a set() copies only the path to its entry, and
    // only once per snapshot, so the previous state's maps are never touched.
    const ports = this.servicePorts.asMutable();
    const lists = this.endpointLists.asMutable();
    if (this.dirtyServices.size > 0 || this.dirtyEndpoints.size > 0) {
      // The native mirrors are about to change: until the new views exist, every view (the
      // previous newest included) answers from its own trie.
      this.portIndex.newest = undefined;
      this.listIndex.newest = undefined;
    }
    for (const name of this.dirtyServices) this.recompute(name, ports, lists, changed, removed);
    for (const name of this.dirtyEndpoints) {
      if (!this.dirtyServices.has(name)) this.recompute(name, ports, lists, changed, removed);
    }
    const portsChanged = ports.wasAltered();
    const listsChanged = lists.wasAltered();
    if (portsChanged) this.servicePorts = ports.asImmutable();
    if (listsChanged) this.endpointLists = lists.asImmutable();
    this.dirtyServices.clear();
    this.dirtyEndpoints.clear();

    let node = this.state.node;
    let nodeChanged = false;
    if (this.nodeDirty) {
      this.nodeDirty = false;
      const next = this.computeNode();
      if (!deepEqual(next, node)) {
        node = next;
        nodeChanged = true;
      }
    }

    if (changed.size > 0 || nodeChanged) {
      this.state = {
        services: portsChanged ? this.newView(this.servicePorts, this.portIndex) : this.state.services,
        endpoints: listsChanged ? this.newView(this.endpointLists, this.listIndex) : this.state.endpoints,
        node,
      };
    }
    // An unchanged map keeps its view, which is again the newest one.
    if (this.portIndex.newest === undefined) this.portIndex.newest = this.state.services as PersistentMapView<string, ServicePort>;
    if (this.listIndex.newest === undefined) this.listIndex.newest = this.state.endpoints as PersistentMapView<string, readonly Endpoint[]>;
    const triggerTimes = this.triggerTimes;
    this.triggerTimes = [];
    const rejected = this.pendingRejected;
    this.pendingRejected = [];
    return { state: this.state, changes: { changed, removed, nodeChanged, triggerTimes }, rejected };
  }

  private newView<V>(map: PersistentMap<string, V>, index: NewestIndex<string, V>): PersistentMapView<string, V> {
    const view = new PersistentMapView(map, index);
    index.newest = view;
    return view;
  }

  private recompute(
    name: string,
    servicePorts: PersistentMap<string, ServicePort>,
    endpointLists: PersistentMap<string, readonly Endpoint[]>,
    changed: Set<string>,
    removed: Set<string>,
  ): void {
    const oldPorts = this.portsByService.get(name) ?? [];
    const svc = this.services.get(name);
    const parsed = svc === undefined ? NO_PORTS : this.parseService(name, svc);
    const byPort = parsed.length > 0 ? this.endpointsOf(name) : undefined;

    const next: ServicePort[] = [];
    const keys = new Set<string>();
    for (const sp of parsed) {
      const old = servicePorts.get(sp.key);
      const kept = old !== undefined && deepEqual(old, sp) ? old : sp;
      if (kept !== old) {
        servicePorts.set(sp.key, kept);
        this.portIndex.map.set(sp.key, kept);
        changed.add(sp.key);
      }
      const eps = byPort === undefined ? NO_ENDPOINTS : endpointsForServicePort(byPort, sp);
      const oldEps = endpointLists.get(sp.key);
      if (oldEps === undefined || !deepEqual(oldEps, eps)) {
        const list = reuseEndpoints(oldEps ?? NO_ENDPOINTS, eps);
        endpointLists.set(sp.key, list);
        this.listIndex.map.set(sp.key, list);
        changed.add(sp.key);
      }
      next.push(kept);
      keys.add(sp.key);
    }
    for (const old of oldPorts) {
      if (keys.has(old.key)) continue;
      servicePorts.delete(old.key);
      endpointLists.delete(old.key);
      this.portIndex.map.delete(old.key);
      this.listIndex.map.delete(old.key);
      changed.add(old.key);
      removed.add(old.key);
    }
    if (next.length > 0) this.portsByService.set(name, exactList(next));
    else this.portsByService.delete(name);
  }

  private parseService(name: string, svc: V1Service): readonly ServicePort[] {
    const cached = this.parsedServices.get(svc);
    if (cached !== undefined) return cached;
    const result = servicePortsFromService(svc);
    this.parsedServices.set(svc, result.ports);
    if (result.errors.length > 0) this.reject('Service', svc, result.errors);
    else this.clearRejection('Service', name);
    if (result.skipped !== undefined) this.log.v(4, 'Service not proxied', { service: name, reason: result.skipped });
    return result.ports;
  }

  private endpointsOf(name: string): EndpointsByPort | undefined {
    const slices = this.slicesByService.get(name);
    if (slices !== undefined) {
      return mergeEndpoints(slicesOf(slices).map((s) => this.convert('EndpointSlice', s, endpointsFromSlice)));
    }
    const legacy = this.legacyEndpoints.get(name);
    if (legacy !== undefined) return this.convert('Endpoints', legacy, endpointsFromV1Endpoints);
    return undefined;
  }

  private convert<T extends object & Meta>(
    kind: 'EndpointSlice' | 'Endpoints',
    obj: T,
    fn: (o: T, nodeName: string) => EndpointsConversion,
  ): EndpointsByPort {
    const cached = this.conversions.get(obj);
    if (cached !== undefined) return cached;
    const conv = fn(obj, this.nodeName);
    const before = this.previousConversions.get(obj);
    const byPort = before === undefined ? conv.byPort : reuseConversion(before, conv.byPort);
    this.previousConversions.delete(obj);
    this.conversions.set(obj, byPort);
    if (conv.errors.length > 0) this.reject(kind, obj, conv.errors);
    else this.clearRejection(kind, nsName(obj) ?? '');
    return byPort;
  }

  /** `next` replaces `prev`: remember prev's conversion (or its own previous one, if unconverted). */
  private keepPreviousConversion(prev: object | undefined, next: object): void {
    if (prev === undefined) return;
    const conv = this.conversions.get(prev) ?? this.previousConversions.get(prev);
    if (conv !== undefined) this.previousConversions.set(next, conv);
  }

  private computeNode(): NodeInfo {
    if (this.node === undefined) {
      // A deleted Node is certainly not eligible for new load-balancer traffic.
      return this.nodeDeleted ? { ...defaultNodeInfo(this.nodeName), eligible: false } : defaultNodeInfo(this.nodeName);
    }
    const { info, errors } = nodeInfoFromNode(this.node, this.nodeName);
    if (errors.length > 0) this.reject('Node', this.node, errors);
    else this.clearRejection('Node', this.nodeName);
    return info;
  }

  private removeSlice(id: string, owner: string, sliceName: string): void {
    const slices = this.slicesByService.get(owner);
    if (slices !== undefined) {
      const rest = withoutSlice(slices, sliceName);
      if (rest === undefined) this.slicesByService.delete(owner);
      else this.slicesByService.set(owner, rest);
    }
    this.sliceOwner.delete(id);
    this.dirtyEndpoints.add(owner);
  }

  private recordTriggerTime(obj: V1EndpointSlice | V1Endpoints): void {
    const t = triggerTimeOf(obj);
    if (t !== undefined) this.triggerTimes.push(t);
  }

  private reject(kind: RejectedObject['kind'], obj: Meta, errors: readonly FieldError[]): void {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    const record: RejectedObject = { kind, namespace, name, errors, time: this.now().toISOString() };
    this.rejectionMap.set(rejectionKey(kind, namespace === '' ? name : `${namespace}/${name}`), record);
    // Logged once, by the sync loop that takes it from the snapshot (with the rejection metric).
    this.pendingRejected.push(record);
  }

  private clearRejection(kind: RejectedObject['kind'], id: string): void {
    this.rejectionMap.delete(rejectionKey(kind, id));
  }
}

function rejectionKey(kind: string, id: string): string {
  return `${kind}:${id}`;
}

