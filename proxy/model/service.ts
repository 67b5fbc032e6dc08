// V1Service → ServicePort[]: validation and normalization, field by field.
//
// The API server already validates Services, but kube-proxy must not trust that (old servers,
// direct etcd writes, fuzzed objects): one bad Service must never break the rules of the others.
// So every field this proxy consumes is checked here and each problem is reported with its field
// path (the caller records a rejection). A bad field drops only itself (one external IP, one
// port, ...) and the message says so: one bad field must not black-hole a working ClusterIP. Only
// a Service without a usable cluster IP produces no ports.
//
// IPs and CIDRs are parsed as the apiserver parses them (leading zeros are decimal) and stored in
// canonical form, so no dataplane ever sees the raw text (see ip-parse.ts).

import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import { formatParsedCIDR, parseCIDRSloppy, parseIPSloppy } from './ip-parse.js';
import type { FieldError, Protocol, ServicePort, ServiceType, SessionAffinity, TrafficPolicy } from './types.js';

export type ServiceSkipReason = 'headless' | 'ExternalName' | 'no-cluster-ip';

export interface ServiceParseResult {
  /** What can be programmed; may be non-empty alongside errors (the bad fields were dropped). */
  readonly ports: readonly ServicePort[];
  /** Every field that was dropped, with what that means for the Service. */
  readonly errors: FieldError[];
  /** Set when the Service is legitimately not proxied (no error). */
  readonly skipped?: ServiceSkipReason;
}

/** Upstream's default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

/** Legacy annotation honoured when spec.loadBalancerSourceRanges is empty (as upstream does). */
export const LB_SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

// Shared by every ServicePort that has none of these (nearly all): a fresh empty array or
// affinity object per port is ~130 bytes of heap at every one of 50,000 Services. Frozen, so a
// reader that tried to mutate one would fail loudly instead of changing every Service.
const NONE: readonly string[] = Object.freeze([]);
const NO_AFFINITY: SessionAffinity = Object.freeze({ type: 'None' });
const NO_PORTS: readonly ServicePort[] = Object.freeze([]);

/**
 * `list` as an array whose backing store holds exactly its elements (NONE when empty): an array
 * grown by push() reserves room for 17 elements (~150 bytes for one address).
 */
export function exactList<T>(list: readonly T[]): readonly T[] {
  return list.length === 0 ? (NONE as readonly T[]) : list.slice();
}

/**
 * Upstream's ServicePortName string. Built with join(), not a template: V8 makes a template or
 * `+` result of 13+ characters a rope (a "cons string" pointing at its parts) and, once it is
 * hashed as a map key, a flat copy beside it; join() makes one flat string. Keys are kept for
 * every Service in several maps, so the rope is ~60 bytes per key for nothing.
 */
export function servicePortKey(namespace: string, name: string, portName: string): string {
  return [namespace, '/', name, ':', portName].join('');
}

/** "namespace/name" of an object (flat, as servicePortKey). */
export function namespacedName(namespace: string, name: string): string {
  return [namespace, name].join('/');
}

/** One line per error, e.g. "spec.ports[1].port: must be between 1 and 65535, got 0". */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

class Errors {
  readonly list: FieldError[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
}

export function servicePortsFromService(svc: V1Service): ServiceParseResult {
  const errs = new Errors();
  const name = svc.metadata?.name ?? '';
  const namespace = svc.metadata?.namespace ?? '';
  if (name === '') errs.add('metadata.name', 'must be set; the Service is not proxied');
  if (namespace === '') errs.add('metadata.namespace', 'must be set; the Service is not proxied');
  const spec = svc.spec ?? {};

  if (spec.type === 'ExternalName') return { ports: NO_PORTS, errors: [], skipped: 'ExternalName' };
  const type = parseType(spec.type, errs);

  const clusterIPs = parseClusterIPs(spec.clusterIP, spec.clusterIPs, errs);
  if (clusterIPs === 'None') return { ports: NO_PORTS, errors: [], skipped: 'headless' };

  const externalIPs = parseIPList(spec.externalIPs ?? [], 'spec.externalIPs', 'this external IP is ignored', errs);
  const sourceRanges = parseSourceRanges(svc, errs);
  // Source ranges were asked for but none can be rendered: leaving the list empty would open the
  // load balancer to every source, so its IPs are not programmed at all (fail closed).
  const lbClosed = type === 'LoadBalancer' && sourceRanges === 'none-valid';
  const loadBalancerIPs = type === 'LoadBalancer' && !lbClosed ? parseIngressIPs(svc, errs) : NONE;
  const sessionAffinity = parseAffinity(svc, errs);
  const etp = parsePolicy(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', errs);
  const itp = parsePolicy(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', errs);
  const hcnp = parseHealthCheckNodePort(spec.healthCheckNodePort, errs);
  const externallyTyped = type === 'NodePort' || type === 'LoadBalancer';

  const rawPorts = spec.ports ?? [];
  const parsedPorts = rawPorts.map((p, i) => parsePort(p, i, errs));
  const seenNames = new Map<string, number>();
  rawPorts.forEach((p, i) => {
    const portName = p.name ?? '';
    const first = seenNames.get(portName);
    if (first !== undefined) {
      errs.add(`spec.ports[${i}].name`, `duplicate port name "${portName}" (also spec.ports[${first}]); this port is not proxied`);
      parsedPorts[i] = undefined;
    } else {
      seenNames.set(portName, i);
    }
  });

  // Every other problem above dropped only its own field; these leave nothing to program.
  if (name === '' || namespace === '' || clusterIPs === 'invalid') return { ports: NO_PORTS, errors: errs.list };
  if (clusterIPs.length === 0) return { ports: NO_PORTS, errors: errs.list, skipped: 'no-cluster-ip' };

  const ports: ServicePort[] = [];
  for (const parsed of parsedPorts) {
    if (parsed === undefined) continue;
    ports.push({
      key: servicePortKey(namespace, name, parsed.portName),
      namespace,
      name,
      portName: parsed.portName,
      type,
      protocol: parsed.protocol,
      port: parsed.port,
      clusterIPs,
      // The API server clears these outside NodePort/LoadBalancer; enforce it so dataplanes can
      // read the fields without re-checking the type.
      nodePort: externallyTyped ? parsed.nodePort : 0,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges: type === 'LoadBalancer' && sourceRanges !== 'none-valid' ? sourceRanges : NONE,
      sessionAffinity,
      externalTrafficPolicy: externallyTyped ? etp : 'Cluster',
      internalTrafficPolicy: itp,
      // Upstream's NeedsHealthCheck: only LoadBalancer Services with externalTrafficPolicy Local.
      healthCheckNodePort: type === 'LoadBalancer' && etp === 'Local' ? hcnp : 0,
    });
  }
  return { ports: exactList(ports), errors: errs.list };
}

function parseType(raw: string | undefined, errs: Errors): ServiceType {
  if (raw === undefined || raw === '' || raw === 'ClusterIP') return 'ClusterIP';
  if (raw === 'NodePort' || raw === 'LoadBalancer') return raw;
  errs.add('spec.type', `must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, got "${raw}"; treated as ClusterIP`);
  return 'ClusterIP';
}

/**
 * The cluster IPs, canonical, primary first. 'invalid' when the Service has no usable VIP (the
 * only problem that takes all its ports down); an entry that cannot be rendered is dropped alone,
 * so a dual-stack Service keeps the family that is fine.
 */
function parseClusterIPs(
  clusterIP: string | undefined,
  clusterIPs: readonly string[] | undefined,
  errs: Errors,
): readonly string[] | 'None' | 'invalid' {
  const useList = clusterIPs !== undefined && clusterIPs.length > 0;
  const list = useList ? [...clusterIPs] : clusterIP ? [clusterIP] : [];
  if (list[0] === 'None') return 'None';
  if (list.length === 0) return [];
  const pathOf = (i: number): string => (useList ? `spec.clusterIPs[${i}]` : 'spec.clusterIP');
  if (clusterIP && useList && canonicalOrRaw(clusterIPs[0]) !== canonicalOrRaw(clusterIP)) {
    // Two different primary VIPs: programming either could capture another Service's traffic.
    errs.add('spec.clusterIP', `must equal spec.clusterIPs[0] ("${String(clusterIPs[0])}"), got "${clusterIP}"; the Service is not proxied`);
    return 'invalid';
  }
  const out: string[] = [];
  const problems: { path: string; message: string }[] = [];
  list.forEach((raw, i) => {
    if (i >= 2) {
      problems.push({ path: pathOf(i), message: `must have at most 2 entries (one per IP family), got ${list.length}` });
      return;
    }
    const ip = typeof raw === 'string' ? parseIPSloppy(raw.trim()) : undefined;
    if (ip === undefined) {
      problems.push({ path: pathOf(i), message: `must be a valid IP address, got ${JSON.stringify(raw)}` });
    } else if (out.length === 1 && parseIPSloppy(out[0] ?? '')?.family === ip.family) {
      problems.push({ path: pathOf(i), message: `must be of a different IP family than spec.clusterIPs[0], got "${String(raw)}"` });
    } else {
      out.push(ip.address);
    }
  });
  const consequence = out.length === 0 ? 'the Service is not proxied' : 'this cluster IP is ignored';
  for (const p of problems) errs.add(p.path, `${p.message}; ${consequence}`);
  return out.length === 0 ? 'invalid' : exactList(out);
}

function canonicalOrRaw(raw: string | undefined): string {
  const text = typeof raw === 'string' ? raw.trim() : '';
  return parseIPSloppy(text)?.address ?? text;
}

/** Canonical addresses of `list`, de-duplicated (two spellings of one address are one address). */
function parseIPList(list: readonly string[], field: string, consequence: string, errs: Errors): readonly string[] {
  const out: string[] = [];
  list.forEach((raw, i) => {
    const ip = typeof raw === 'string' ? parseIPSloppy(raw.trim()) : undefined;
    if (ip === undefined) errs.add(`${field}[${i}]`, `must be a valid IP address, got ${JSON.stringify(raw)}; ${consequence}`);
    else if (!out.includes(ip.address)) out.push(ip.address);
  });
  return exactList(out);
}

function parseIngressIPs(svc: V1Service, errs: Errors): readonly string[] {
  const out: string[] = [];
  (svc.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    // Hostname-only ingress (e.g. AWS ELB) has nothing to program on the node.
    if (ing.ip === undefined || ing.ip === '') return;
    const ip = typeof ing.ip === 'string' ? parseIPSloppy(ing.ip.trim()) : undefined;
    if (ip === undefined) {
      errs.add(
        `status.loadBalancer.ingress[${i}].ip`,
        `must be a valid IP address, got ${JSON.stringify(ing.ip)}; this load-balancer IP is ignored`,
      );
      return;
    }
    // ipMode Proxy (KEP-1860): the load balancer delivers to the node with its own source/dest, so
    // short-circuiting the VIP on the node would bypass it; upstream does not program such IPs.
    if (ing.ipMode === 'Proxy') return;
    if (!out.includes(ip.address)) out.push(ip.address);
  });
  return exactList(out);
}

/** Canonical CIDRs; 'none-valid' when ranges were given but not one of them can be rendered. */
function parseSourceRanges(svc: V1Service, errs: Errors): readonly string[] | 'none-valid' {
  const spec = svc.spec?.loadBalancerSourceRanges ?? [];
  let list: readonly string[] = spec;
  let field = 'spec.loadBalancerSourceRanges';
  if (spec.length === 0) {
    const ann = svc.metadata?.annotations?.[LB_SOURCE_RANGES_ANNOTATION];
    if (ann !== undefined && ann.trim() !== '') {
      list = ann.split(',');
      field = `metadata.annotations[${LB_SOURCE_RANGES_ANNOTATION}]`;
    }
  }
  const out: string[] = [];
  list.forEach((raw, i) => {
    const c = typeof raw === 'string' ? parseCIDRSloppy(raw.trim(), { bareAddress: true }) : undefined;
    // Ignoring one range narrows the allowed sources, never widens them.
    if (!c) errs.add(`${field}[${i}]`, `must be a valid CIDR, got ${JSON.stringify(raw)}; this range is ignored`);
    else if (!out.includes(formatParsedCIDR(c))) out.push(formatParsedCIDR(c));
  });
  if (list.length > 0 && out.length === 0) {
    if (svc.spec?.type === 'LoadBalancer') {
      errs.add(field, 'has no valid entry; the load-balancer IPs are not programmed rather than opened to every source');
    }
    return 'none-valid';
  }
  return exactList(out);
}

function parseAffinity(svc: V1Service, errs: Errors): SessionAffinity {
  const raw = svc.spec?.sessionAffinity;
  if (raw === undefined || raw === '' || raw === 'None') return NO_AFFINITY;
  if (raw !== 'ClientIP') {
    errs.add('spec.sessionAffinity', `must be None or ClientIP, got "${raw}"; treated as None`);
    return NO_AFFINITY;
  }
  const t = svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t === undefined || t === null) return { type: 'ClientIP', timeoutSeconds: DEFAULT_AFFINITY_TIMEOUT_SECONDS };
  if (!Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS) {
    errs.add(
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      `must be between 1 and ${MAX_AFFINITY_TIMEOUT_SECONDS}, got ${String(t)}; using the default ${DEFAULT_AFFINITY_TIMEOUT_SECONDS}`,
    );
    return { type: 'ClientIP', timeoutSeconds: DEFAULT_AFFINITY_TIMEOUT_SECONDS };
  }
  return { type: 'ClientIP', timeoutSeconds: t };
}

function parsePolicy(raw: string | undefined, field: string, errs: Errors): TrafficPolicy {
  if (raw === undefined || raw === '' || raw === 'Cluster') return 'Cluster';
  if (raw === 'Local') return 'Local';
  errs.add(field, `must be Cluster or Local, got "${raw}"; treated as Cluster`);
  return 'Cluster';
}

function parseHealthCheckNodePort(raw: number | undefined, errs: Errors): number {
  if (raw === undefined || raw === null) return 0;
  if (!Number.isInteger(raw) || raw < 0 || raw > 65535) {
    errs.add('spec.healthCheckNodePort', `must be between 0 and 65535, got ${String(raw)}; no health check is served`);
    return 0;
  }
  return raw;
}

interface ParsedPort {
  readonly portName: string;
  readonly protocol: Protocol;
  readonly port: number;
  readonly nodePort: number;
}

function parsePort(p: V1ServicePort, i: number, errs: Errors): ParsedPort | undefined {
  const path = `spec.ports[${i}]`;
  const before = errs.list.length;
  const protocol = (p.protocol ?? 'TCP') as Protocol;
  if (!PROTOCOLS.includes(protocol)) {
    errs.add(`${path}.protocol`, `must be one of TCP, UDP, SCTP, got "${String(p.protocol)}"; this port is not proxied`);
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
    errs.add(`${path}.port`, `must be between 1 and 65535, got ${String(p.port)}; this port is not proxied`);
  }
  if (errs.list.length > before) return undefined;
  let nodePort = p.nodePort ?? 0;
  if (!Number.isInteger(nodePort) || nodePort < 0 || nodePort > 65535) {
    // The port's cluster IP still works; only the node port cannot be rendered.
    errs.add(`${path}.nodePort`, `must be between 0 and 65535, got ${String(p.nodePort)}; this port gets no node port`);
    nodePort = 0;
  }
  return { portName: p.name ?? '', protocol, port: p.port, nodePort };
}
