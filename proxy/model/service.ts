// V1Service → ServicePort[]: validation and normalization, field by field.
//
// The API server already validates Services, but kube-proxy must not trust that (old servers,
// direct etcd writes, fuzzed objects): one bad Service must never break the rules of the others.
// So every field this proxy consumes is checked here, each problem is reported with its field
// path, and any error makes the whole Service produce no ports (the caller records a rejection).

import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import { formatCidr, ipFamily, parseCidr } from './ip.js';
import type { FieldError, Protocol, ServicePort, ServiceType, SessionAffinity, TrafficPolicy } from './types.js';

export type ServiceSkipReason = 'headless' | 'ExternalName' | 'no-cluster-ip';

export interface ServiceParseResult {
  readonly ports: ServicePort[];
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

/** Upstream's ServicePortName string. */
export function servicePortKey(namespace: string, name: string, portName: string): string {
  return `${namespace}/${name}:${portName}`;
}

/** "namespace/name" of an object. */
export function namespacedName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
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
  if (name === '') errs.add('metadata.name', 'must be set');
  if (namespace === '') errs.add('metadata.namespace', 'must be set');
  const spec = svc.spec ?? {};

  if (spec.type === 'ExternalName') return { ports: [], errors: [], skipped: 'ExternalName' };
  const type = parseType(spec.type, errs);

  const clusterIPs = parseClusterIPs(spec.clusterIP, spec.clusterIPs, errs);
  if (clusterIPs === 'None') return { ports: [], errors: [], skipped: 'headless' };

  const externalIPs = parseIPList(spec.externalIPs ?? [], 'spec.externalIPs', errs);
  const loadBalancerIPs = type === 'LoadBalancer' ? parseIngressIPs(svc, errs) : [];
  const sourceRanges = parseSourceRanges(svc, errs);
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
      errs.add(`spec.ports[${i}].name`, `duplicate port name "${portName}" (also spec.ports[${first}])`);
    } else {
      seenNames.set(portName, i);
    }
  });

  if (errs.list.length > 0) return { ports: [], errors: errs.list };
  if (clusterIPs.length === 0) return { ports: [], errors: [], skipped: 'no-cluster-ip' };

  const ports = parsedPorts.map((p): ServicePort => {
    const parsed = p ?? { portName: '', protocol: 'TCP' as Protocol, port: 0, nodePort: 0 };
    return {
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
      loadBalancerSourceRanges: type === 'LoadBalancer' ? sourceRanges : [],
      sessionAffinity,
      externalTrafficPolicy: externallyTyped ? etp : 'Cluster',
      internalTrafficPolicy: itp,
      // Upstream's NeedsHealthCheck: only LoadBalancer Services with externalTrafficPolicy Local.
      healthCheckNodePort: type === 'LoadBalancer' && etp === 'Local' ? hcnp : 0,
    };
  });
  return { ports, errors: [] };
}

function parseType(raw: string | undefined, errs: Errors): ServiceType {
  if (raw === undefined || raw === '' || raw === 'ClusterIP') return 'ClusterIP';
  if (raw === 'NodePort' || raw === 'LoadBalancer') return raw;
  errs.add('spec.type', `must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, got "${raw}"`);
  return 'ClusterIP';
}

function parseClusterIPs(
  clusterIP: string | undefined,
  clusterIPs: readonly string[] | undefined,
  errs: Errors,
): string[] | 'None' {
  const list = clusterIPs !== undefined && clusterIPs.length > 0 ? [...clusterIPs] : clusterIP ? [clusterIP] : [];
  const field = clusterIPs !== undefined && clusterIPs.length > 0 ? 'spec.clusterIPs' : 'spec.clusterIP';
  if (list[0] === 'None') return 'None';
  if (clusterIP && clusterIPs && clusterIPs.length > 0 && clusterIPs[0] !== clusterIP) {
    errs.add('spec.clusterIP', `must equal spec.clusterIPs[0] ("${clusterIPs[0]}"), got "${clusterIP}"`);
  }
  if (list.length > 2) errs.add(field, `must have at most 2 entries (one per IP family), got ${list.length}`);
  const out = parseIPList(list, field, errs, field === 'spec.clusterIP');
  if (out.length === 2 && ipFamily(out[0] ?? '') === ipFamily(out[1] ?? '')) {
    errs.add('spec.clusterIPs[1]', `must be of a different IP family than spec.clusterIPs[0], got "${out[1]}"`);
  }
  return out;
}

function parseIPList(list: readonly string[], field: string, errs: Errors, scalar = false): string[] {
  const out: string[] = [];
  list.forEach((raw, i) => {
    const path = scalar ? field : `${field}[${i}]`;
    const ip = typeof raw === 'string' ? raw.trim() : '';
    if (ipFamily(ip) === undefined) errs.add(path, `must be a valid IP address, got ${JSON.stringify(raw)}`);
    else out.push(ip);
  });
  return out;
}

function parseIngressIPs(svc: V1Service, errs: Errors): string[] {
  const out: string[] = [];
  (svc.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    // Hostname-only ingress (e.g. AWS ELB) has nothing to program on the node.
    if (ing.ip === undefined || ing.ip === '') return;
    const ip = ing.ip.trim();
    if (ipFamily(ip) === undefined) {
      errs.add(`status.loadBalancer.ingress[${i}].ip`, `must be a valid IP address, got ${JSON.stringify(ing.ip)}`);
      return;
    }
    // ipMode Proxy (KEP-1860): the load balancer delivers to the node with its own source/dest, so
    // short-circuiting the VIP on the node would bypass it; upstream does not program such IPs.
    if (ing.ipMode === 'Proxy') return;
    out.push(ip);
  });
  return out;
}

function parseSourceRanges(svc: V1Service, errs: Errors): string[] {
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
    const c = typeof raw === 'string' ? parseCidr(raw.trim()) : undefined;
    if (!c) errs.add(`${field}[${i}]`, `must be a valid CIDR, got ${JSON.stringify(raw)}`);
    else out.push(formatCidr(c));
  });
  return out;
}

function parseAffinity(svc: V1Service, errs: Errors): SessionAffinity {
  const raw = svc.spec?.sessionAffinity;
  if (raw === undefined || raw === '' || raw === 'None') return { type: 'None' };
  if (raw !== 'ClientIP') {
    errs.add('spec.sessionAffinity', `must be None or ClientIP, got "${raw}"`);
    return { type: 'None' };
  }
  const t = svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t === undefined || t === null) return { type: 'ClientIP', timeoutSeconds: DEFAULT_AFFINITY_TIMEOUT_SECONDS };
  if (!Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS) {
    errs.add(
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      `must be between 1 and ${MAX_AFFINITY_TIMEOUT_SECONDS}, got ${String(t)}`,
    );
  }
  return { type: 'ClientIP', timeoutSeconds: t };
}

function parsePolicy(raw: string | undefined, field: string, errs: Errors): TrafficPolicy {
  if (raw === undefined || raw === '' || raw === 'Cluster') return 'Cluster';
  if (raw === 'Local') return 'Local';
  errs.add(field, `must be Cluster or Local, got "${raw}"`);
  return 'Cluster';
}

function parseHealthCheckNodePort(raw: number | undefined, errs: Errors): number {
  if (raw === undefined || raw === null) return 0;
  if (!Number.isInteger(raw) || raw < 0 || raw > 65535) {
    errs.add('spec.healthCheckNodePort', `must be between 0 and 65535, got ${String(raw)}`);
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
    errs.add(`${path}.protocol`, `must be one of TCP, UDP, SCTP, got "${String(p.protocol)}"`);
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
    errs.add(`${path}.port`, `must be between 1 and 65535, got ${String(p.port)}`);
  }
  const nodePort = p.nodePort ?? 0;
  if (!Number.isInteger(nodePort) || nodePort < 0 || nodePort > 65535) {
    errs.add(`${path}.nodePort`, `must be between 0 and 65535, got ${String(p.nodePort)}`);
  }
  if (errs.list.length > before) return undefined;
  return { portName: p.name ?? '', protocol, port: p.port, nodePort };
}
