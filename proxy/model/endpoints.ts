// EndpointSlices / legacy v1 Endpoints → Endpoint lists per (port name, protocol).
//
// The result is keyed by slice port, not by service port key: a slice does not know the Service's
// ports, so the store joins the two with endpointsForServicePort(). Invalid items (bad address,
// bad port) are skipped and reported; the rest of the object is still used, because dropping every
// endpoint of a Service over one malformed address would be an outage. Addresses are parsed as the
// apiserver parses them and kept in canonical form (see ip-parse.ts), so "198.18.0.012" and
// "198.18.0.12" are one endpoint and no dataplane reads the leading zero as octal.

import type { V1EndpointSlice, V1Endpoints } from '@kubernetes/client-node';
import { parseIPSloppy } from './ip-parse.js';
import { namespacedName } from './service.js';
import { compareIPs, ipSortKey } from './ip-order.js';
import { deepEqual } from './equal.js';
import type { Endpoint, FieldError, Protocol, ServicePort } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** Endpoints by `portKey(portName, protocol)`. */
export type EndpointsByPort = ReadonlyMap<string, readonly Endpoint[]>;

export interface EndpointsConversion {
  readonly byPort: EndpointsByPort;
  readonly errors: FieldError[];
}

const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];

/** Shared by every endpoint without topology hints (nearly all): two arrays fewer per endpoint. */
const NO_HINTS: readonly string[] = Object.freeze([]);
const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);

/**
 * A few distinct port keys ("http/TCP", "dns/UDP", ...) are shared by every slice; each slice
 * used to hold its own copy of the same text. Bounded: a cluster with more distinct port names
 * than this just stops sharing the rest.
 */
const PORT_KEYS = new Map<string, Map<Protocol, string>>();
const MAX_PORT_KEY_NAMES = 4096;

export function portKey(portName: string, protocol: Protocol): string {
  const byProtocol = PORT_KEYS.get(portName);
  const known = byProtocol?.get(protocol);
  if (known !== undefined) return known;
  const key = `${portName}/${protocol}`;
  if (byProtocol !== undefined) byProtocol.set(protocol, key);
  else if (PORT_KEYS.size < MAX_PORT_KEY_NAMES) PORT_KEYS.set(portName, new Map([[protocol, key]]));
  return key;
}

/** The endpoints a converted object holds for `sp` (matched by port name and protocol). */
export function endpointsForServicePort(byPort: EndpointsByPort, sp: ServicePort): readonly Endpoint[] {
  return byPort.get(portKey(sp.portName, sp.protocol)) ?? NO_ENDPOINTS;
}

/** The Service ("namespace/name") a slice belongs to, or undefined when it has no owner label. */
export function sliceServiceName(slice: V1EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  const ns = slice.metadata?.namespace;
  if (!svc || !ns) return undefined;
  return namespacedName(ns, svc);
}

/** `endpoints.kubernetes.io/last-change-trigger-time` as ms since epoch, if present and valid. */
export function triggerTimeOf(obj: { metadata?: { annotations?: Record<string, string> } }): number | undefined {
  const raw = obj.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Convert one slice. FQDN slices carry nothing a packet filter can use and yield nothing. */
export function endpointsFromSlice(slice: V1EndpointSlice, nodeName: string): EndpointsConversion {
  const errors: FieldError[] = [];
  const byPort = new Map<string, Endpoint[]>();
  const addressType = slice.addressType;
  if (addressType !== 'IPv4' && addressType !== 'IPv6') {
    if (addressType !== 'FQDN') {
      errors.push({ field: 'addressType', message: `must be IPv4, IPv6 or FQDN, got "${String(addressType)}"` });
    }
    return { byPort, errors };
  }
  const ports: { key: string; port: number }[] = [];
  (slice.ports ?? []).forEach((p, i) => {
    const protocol = p.protocol ?? 'TCP';
    if (!PROTOCOLS.includes(protocol)) {
      errors.push({ field: `ports[${i}].protocol`, message: `must be one of TCP, UDP, SCTP, got "${protocol}"` });
      return;
    }
    // A nil port means "all ports" and is only meaningful for headless Services: not proxied.
    if (p.port === undefined || p.port === null) return;
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      errors.push({ field: `ports[${i}].port`, message: `must be between 1 and 65535, got ${String(p.port)}` });
      return;
    }
    ports.push({ key: portKey(p.name ?? '', protocol as Protocol), port: p.port });
  });

  (slice.endpoints ?? []).forEach((ep, i) => {
    const c = ep.conditions ?? {};
    const ready = c.ready ?? true;
    const serving = c.serving ?? ready;
    const terminating = c.terminating ?? false;
    const epNode = ep.nodeName ?? '';
    const zoneHints = ep.hints?.forZones?.length ? ep.hints.forZones.map((z) => z.name) : NO_HINTS;
    const nodeHints = ep.hints?.forNodes?.length ? ep.hints.forNodes.map((n) => n.name) : NO_HINTS;
    // One endpoint is one address: the API says consumers may ignore all but addresses[0] (they
    // are fungible copies of one pod), and upstream uses only the first. Reading every address
    // would send a share of the traffic to each copy, a different balance than upstream's.
    const raw = ep.addresses?.[0];
    if (raw === undefined) {
      errors.push({ field: `endpoints[${i}].addresses`, message: 'must have at least one address; this endpoint is ignored' });
      return;
    }
    const ip = typeof raw === 'string' ? parseIPSloppy(raw.trim()) : undefined;
    if (ip === undefined || ip.family !== addressType) {
      errors.push({
        field: `endpoints[${i}].addresses[0]`,
        message: `must be a valid ${addressType} address, got ${JSON.stringify(raw)}; this endpoint is ignored`,
      });
      return;
    }
    for (const p of ports) {
      add(byPort, p.key, {
        ip: ip.address,
        port: p.port,
        family: ip.family,
        ready,
        serving,
        terminating,
        nodeName: epNode,
        zone: ep.zone ?? '',
        zoneHints,
        nodeHints,
        isLocal: epNode !== '' && epNode === nodeName,
      });
    }
  });
  return { byPort: finish(byPort), errors };
}

/** Legacy v1 Endpoints: `addresses` are ready; `notReadyAddresses` are neither ready nor serving. */
export function endpointsFromV1Endpoints(eps: V1Endpoints, nodeName: string): EndpointsConversion {
  const errors: FieldError[] = [];
  const byPort = new Map<string, Endpoint[]>();
  (eps.subsets ?? []).forEach((subset, s) => {
    const ports: { key: string; port: number }[] = [];
    (subset.ports ?? []).forEach((p, i) => {
      const protocol = p.protocol ?? 'TCP';
      if (!PROTOCOLS.includes(protocol)) {
        errors.push({
          field: `subsets[${s}].ports[${i}].protocol`,
          message: `must be one of TCP, UDP, SCTP, got "${protocol}"`,
        });
      } else if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
        errors.push({ field: `subsets[${s}].ports[${i}].port`, message: `must be between 1 and 65535, got ${String(p.port)}` });
      } else {
        ports.push({ key: portKey(p.name ?? '', protocol as Protocol), port: p.port });
      }
    });
    const groups = [
      { list: subset.addresses ?? [], field: 'addresses', ready: true },
      { list: subset.notReadyAddresses ?? [], field: 'notReadyAddresses', ready: false },
    ];
    for (const g of groups) {
      g.list.forEach((addr, i) => {
        const ip = typeof addr.ip === 'string' ? parseIPSloppy(addr.ip.trim()) : undefined;
        if (ip === undefined) {
          errors.push({
            field: `subsets[${s}].${g.field}[${i}].ip`,
            message: `must be a valid IP address, got ${JSON.stringify(addr.ip)}; this endpoint is ignored`,
          });
          return;
        }
        const epNode = addr.nodeName ?? '';
        for (const p of ports) {
          add(byPort, p.key, {
            ip: ip.address,
            port: p.port,
            family: ip.family,
            ready: g.ready,
            serving: g.ready,
            terminating: false,
            nodeName: epNode,
            zone: '',
            zoneHints: NO_HINTS,
            nodeHints: NO_HINTS,
            isLocal: epNode !== '' && epNode === nodeName,
          });
        }
      });
    }
  });
  return { byPort: finish(byPort), errors };
}

/**
 * Merge the conversions of all slices of one Service. The same ip:port may appear in two slices
 * while the EndpointSlice controller moves it; the "best" copy (ready, then serving) wins.
 */
export function mergeEndpoints(parts: readonly EndpointsByPort[]): EndpointsByPort {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const merged = new Map<string, Endpoint[]>();
  for (const part of parts) {
    for (const [key, eps] of part) for (const ep of eps) add(merged, key, ep);
  }
  return finish(merged);
}

function add(byPort: Map<string, Endpoint[]>, key: string, ep: Endpoint): void {
  const list = byPort.get(key);
  if (list) list.push(ep);
  else byPort.set(key, [ep]);
}

function rank(ep: Endpoint): number {
  return (ep.ready ? 2 : 0) + (ep.serving ? 1 : 0);
}

/** De-duplicate each list by ip:port (best rank wins, first seen on ties) and sort it. */
function finish(byPort: Map<string, Endpoint[]>): EndpointsByPort {
  if (byPort.size === 0) return NO_PORTS;
  if (byPort.size === 1) {
    const [key, eps] = byPort.entries().next().value as [string, Endpoint[]];
    return new OnePortEndpoints(key, dedupSorted(eps));
  }
  const out = new Map<string, readonly Endpoint[]>();
  for (const [key, eps] of byPort) out.set(key, dedupSorted(eps));
  return out;
}

function dedupSorted(eps: readonly Endpoint[]): readonly Endpoint[] {
  const best = new Map<string, Endpoint>();
  for (const ep of eps) {
    const id = `${ep.ip}|${ep.port}`;
    const prev = best.get(id);
    if (prev === undefined || rank(ep) > rank(prev)) best.set(id, ep);
  }
  if (best.size === 1) return [...best.values()];
  // Each address's sort key is made once: sorting with compareEndpoints made two per comparison
  // (48 for ten shuffled endpoints, each a split/map/join), ~40 % of converting a changed slice.
  // Same order: the comparison is compareEndpoints' on the keys it would make. map() allocates
  // exactly the elements, as the spread did (a list grown by push() reserves room for more).
  const keyed = Array.from(best.values(), (ep) => ({ ep, key: ipSortKey(ep.ip) }));
  keyed.sort(compareKeyed);
  return keyed.map((k) => k.ep);
}

function compareKeyed(a: { ep: Endpoint; key: string }, b: { ep: Endpoint; key: string }): number {
  return (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.ep.port - b.ep.port;
}

/** Keep old Endpoint objects that did not change, so per-endpoint caches survive a list change. */
export function reuseEndpoints(old: readonly Endpoint[], next: readonly Endpoint[]): readonly Endpoint[] {
  if (old.length === 0 || next.length === 0) return next;
  const byAddr = new Map<string, Endpoint>();
  for (const ep of old) byAddr.set(`${ep.ip}|${ep.port}`, ep);
  let reused = false;
  const out = next.map((ep) => {
    const prev = byAddr.get(`${ep.ip}|${ep.port}`);
    if (prev !== undefined && deepEqual(prev, ep)) {
      reused = true;
      return prev;
    }
    return ep;
  });
  return reused ? out : next;
}

/** A new version's conversion with every Endpoint equal to one of the previous version's replaced by it. */
export function reuseConversion(prev: EndpointsByPort, next: EndpointsByPort): EndpointsByPort {
  if (next instanceof OnePortEndpoints) {
    const list = reuseEndpoints(prev.get(next.key) ?? NO_LIST, next.list);
    return list === next.list ? next : new OnePortEndpoints(next.key, list);
  }
  let changed = false;
  const out = new Map<string, readonly Endpoint[]>();
  for (const [key, eps] of next) {
    const list = reuseEndpoints(prev.get(key) ?? NO_LIST, eps);
    if (list !== eps) changed = true;
    out.set(key, list);
  }
  return changed ? out : next;
}

const NO_LIST: readonly Endpoint[] = [];

/**
 * The endpoints of an object with one port (nearly every slice): a native Map costs ~330 bytes
 * (its hash table is allocated for several entries) where this costs ~40, once per slice kept
 * in the model's conversion cache.
 */
class OnePortEndpoints implements EndpointsByPort {
  constructor(
    readonly key: string,
    readonly list: readonly Endpoint[],
  ) {}
  get size(): number {
    return 1;
  }
  get(key: string): readonly Endpoint[] | undefined {
    return key === this.key ? this.list : undefined;
  }
  has(key: string): boolean {
    return key === this.key;
  }
  forEach(callback: (value: readonly Endpoint[], key: string, map: EndpointsByPort) => void, thisArg?: unknown): void {
    callback.call(thisArg, this.list, this.key, this);
  }
  *entries(): MapIterator<[string, readonly Endpoint[]]> {
    yield [this.key, this.list];
  }
  *keys(): MapIterator<string> {
    yield this.key;
  }
  *values(): MapIterator<readonly Endpoint[]> {
    yield this.list;
  }
  [Symbol.iterator](): MapIterator<[string, readonly Endpoint[]]> {
    return this.entries();
  }
}

const NO_PORTS: EndpointsByPort = new Map<string, readonly Endpoint[]>();

export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return compareIPs(a.ip, b.ip) || a.port - b.port;
}
