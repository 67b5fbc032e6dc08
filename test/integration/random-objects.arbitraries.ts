// fast-check generators of partly invalid Services and EndpointSlices, each paired with what the
// model must say about it: the field paths it must reject and the service port keys it must
// program. The expectations restate proxy/model/service.ts and endpoints.ts rule by rule from the
// API's side (which field, which values), so a validation that goes missing or a valid field that
// stops being programmed shows up as a counterexample.
//
// Names: half the objects use names the API allows (DNS labels); the rest use names the API would
// reject (quotes, spaces, backslashes, newlines, unicode, "-A ..." fragments), because the model
// does not re-validate names and they reach rule comments. Every hostile fragment is followed by
// MARKER so a fragment that escapes its comment can be found in the rendered rule.

import fc from 'fast-check';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

// Lowercase and a 9: rendered chain names are upper-case base32 hashes (A-Z, 2-7), which can
// contain any upper-case trigram by chance (a KUBE-SEP-…QZX… chain once did).
export const MARKER = 'qz9';

/** Pieces that would break a rule line if they reached it unquoted or unsanitized. */
const HOSTILE_PIECES = [
  '"',
  "'",
  '\\',
  '`',
  ' ',
  '\t',
  '\n',
  '\r\n-A KUBE-SERVICES -j ACCEPT',
  '" -j ACCEPT -m comment --comment "',
  ' -A OUTPUT -j DROP',
  '--comment',
  'ünïcødé',
  '日本語',
  '\u0000',
  '\u202e',
  '$(reboot)',
  '#',
  '*nat',
  'COMMIT',
] as const;

const dnsLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,18}[a-z0-9]$/);

/** '/' and ':' are left out: they are the separators of upstream's ServicePortName key. */
const hostileName = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE_PIECES), fc.string({ unit: 'binary', maxLength: 6 }).map((s) => s.replace(/[/:]/g, ''))), {
    minLength: 1,
    maxLength: 6,
  })
  .map((parts) => parts.map((p) => p + MARKER).join(''));

export const objectName = fc.oneof({ weight: 1, arbitrary: dnsLabel }, { weight: 1, arbitrary: hostileName });

/** A choice of a field's raw value and whether the model must reject it. */
interface Choice<T> {
  readonly value: T;
  readonly invalid: boolean;
}

const ok = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<Choice<T>> => a.map((value) => ({ value, invalid: false }));
const bad = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<Choice<T>> => a.map((value) => ({ value, invalid: true }));

const octet = fc.integer({ min: 1, max: 254 });
const v4In = (prefix: string) => octet.map((o) => `${prefix}.${o}`);
const v6In = (prefix: string) => fc.integer({ min: 1, max: 0xfffe }).map((o) => `${prefix}${o.toString(16)}`);
const badIP = fc.constantFrom<unknown>('not-an-ip', '198.19.0.300', '1.2.3.4.5', '', ' ', '2001:db8::g', '198.19.0.1/32', 42, null, {});

const externalIP = fc.oneof(ok(v4In('198.18.200')), ok(v6In('2001:db8:200::')), bad(badIP));
const sourceRange = fc.oneof(
  ok(fc.constantFrom('203.0.113.0/24', '198.18.0.100/32', '198.18.0.100', '2001:db8:300::/48', '10.1.2.3/8')),
  bad(fc.constantFrom<unknown>('10.0.0.0/33', 'everything', '2001:db8::/129', '', 7)),
);
/** undefined ip: hostname-only ingress, which has nothing to program and is not an error. */
const ingress = fc.oneof(
  ok(v4In('198.18.201').map((ip) => ({ ip }))),
  ok(v4In('198.18.202').map((ip) => ({ ip, ipMode: 'Proxy' }))),
  ok(fc.constant({ hostname: 'lb.example.com' })),
  bad(badIP.filter((v) => v !== '').map((ip) => ({ ip }))),
);
const policy = fc.oneof(ok(fc.constantFrom(undefined, 'Cluster', 'Local')), bad(fc.constantFrom<unknown>('Nearby', 'local', 3)));
const hcnp = fc.oneof(ok(fc.constantFrom(undefined, 0)), ok(fc.integer({ min: 30000, max: 32767 })), bad(fc.constantFrom<unknown>(-1, 65536, 3.5)));
const serviceType = fc.oneof(
  ok(fc.constantFrom(undefined, '', 'ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName')),
  bad(fc.constantFrom<unknown>('Ingress', 'nodeport')),
);
const affinity = fc.oneof(
  ok(fc.constantFrom({ kind: undefined }, { kind: 'None' })),
  ok(fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }).map((t) => ({ kind: 'ClientIP', timeout: t }))),
  bad(fc.constantFrom<unknown>(0, 86401, 2.5, -3).map((t) => ({ kind: 'ClientIP', timeout: t }))),
  bad(fc.constant({ kind: 'Sticky' })),
);
const protocol = fc.oneof(
  { weight: 5, arbitrary: ok(fc.constantFrom(undefined, undefined, 'TCP', 'UDP', 'SCTP')) },
  { weight: 1, arbitrary: bad(fc.constantFrom<unknown>('ICMP', 'tcp', '')) },
);
const portNumber = fc.oneof(
  { weight: 5, arbitrary: ok(fc.integer({ min: 1, max: 65535 })) },
  { weight: 1, arbitrary: bad(fc.constantFrom<unknown>(0, 65536, 80.5, -1, '80')) },
);
const nodePort = fc.oneof(ok(fc.constantFrom(undefined, 0)), ok(fc.integer({ min: 30000, max: 32767 })), bad(fc.constantFrom<unknown>(-5, 70000, 1.5)));
/** Port names: API-valid, absent, or hostile (they reach comments through the key). */
const portName = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,13}$/) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: hostileName },
);

type ClusterIPChoice =
  | { readonly kind: 'v4' | 'v6' | 'dual' | 'none' | 'headless' }
  | { readonly kind: 'bad-single' | 'bad-list' | 'bad-second' | 'same-family' | 'mismatch'; readonly raw: unknown };

const clusterIPChoice: fc.Arbitrary<ClusterIPChoice> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<ClusterIPChoice>({ kind: 'v4' }, { kind: 'v6' }, { kind: 'dual' }) },
  { weight: 1, arbitrary: fc.constantFrom<ClusterIPChoice>({ kind: 'none' }, { kind: 'headless' }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('bad-single', 'bad-list', 'bad-second', 'same-family', 'mismatch') as fc.Arbitrary<'bad-single'>, badIP)
      .map(([kind, raw]) => ({ kind, raw })),
  },
);

const portChoice = fc.record({ name: portName, protocol, port: portNumber, nodePort, dupOfPrevious: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) });

const endpointChoice = fc.record({
  address: fc.constantFrom('valid', 'valid', 'valid', 'valid', 'empty', 'invalid', 'other-family'),
  host: octet,
  ready: fc.constantFrom(undefined, true, true, false),
  serving: fc.constantFrom(undefined, true, false),
  terminating: fc.constantFrom(undefined, true, false),
  nodeName: fc.constantFrom(undefined, 'node-a', 'node-b'),
});

const sliceChoice = fc.record({
  addressType: fc.constantFrom('IPv4', 'IPv4', 'IPv6', 'IPv6', 'FQDN', 'IPv5'),
  portProtocolBad: fc.array(fc.integer({ min: 0, max: 7 }).map((n) => n === 0), { maxLength: 3 }),
  portNumber: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: ok(fc.integer({ min: 1, max: 65535 })) },
      { weight: 1, arbitrary: ok(fc.constant(null)) },
      { weight: 1, arbitrary: bad(fc.constantFrom<unknown>(0, 65536, 1.5)) },
    ),
    { maxLength: 3 },
  ),
  endpoints: fc.array(endpointChoice, { maxLength: 5 }),
});

export const serviceChoice = fc.record({
  namespace: fc.oneof(fc.constantFrom('default', 'kube-system', 'team-a'), hostileName),
  name: objectName,
  type: serviceType,
  clusterIP: clusterIPChoice,
  externalIPs: fc.array(externalIP, { maxLength: 3 }),
  sourceRanges: fc.array(sourceRange, { maxLength: 3 }),
  ingress: fc.array(ingress, { maxLength: 3 }),
  affinity,
  etp: policy,
  itp: policy,
  hcnp,
  ports: fc.array(portChoice, { maxLength: 3 }),
  slices: fc.array(sliceChoice, { minLength: 1, maxLength: 2 }),
});

export type ServiceChoice = typeof serviceChoice extends fc.Arbitrary<infer T> ? T : never;

/** What the model must do with one generated object. */
export interface Expected<T> {
  readonly object: T;
  readonly kind: 'Service' | 'EndpointSlice';
  readonly namespace: string;
  readonly name: string;
  /** Field paths that must appear in the object's rejection (none: it must not be rejected). */
  readonly invalidFields: readonly string[];
}

export interface ExpectedService extends Expected<V1Service> {
  /** Service port keys the model must produce, with the port, protocol and cluster IPs. */
  readonly ports: readonly { key: string; port: number; protocol: string }[];
  readonly clusterIPs: readonly string[];
  readonly slices: readonly Expected<V1EndpointSlice>[];
}

/** Build service number `i` of a run (i makes names and addresses unique within the run). */
export function buildService(c: ServiceChoice, i: number): ExpectedService {
  const name = `${c.name}-${i}`;
  const namespace = c.namespace;
  const invalid: string[] = [];
  const rawType = c.type.value as string | undefined;
  if (c.type.invalid) invalid.push('spec.type');
  const type = c.type.invalid || rawType === undefined || rawType === '' ? 'ClusterIP' : rawType;

  const v4 = `198.19.${Math.floor(i / 200)}.${(i % 200) + 1}`;
  const v6 = `2001:db8:ff::${(i + 1).toString(16)}`;
  const spec: Record<string, unknown> = {};
  let clusterIPs: string[] = [];
  let ipsUsable = true;
  let headless = false;
  const ci = c.clusterIP;
  switch (ci.kind) {
    case 'v4':
      Object.assign(spec, { clusterIP: v4, clusterIPs: [v4] });
      clusterIPs = [v4];
      break;
    case 'v6':
      Object.assign(spec, { clusterIP: v6, clusterIPs: [v6] });
      clusterIPs = [v6];
      break;
    case 'dual':
      Object.assign(spec, { clusterIP: v4, clusterIPs: [v4, v6] });
      clusterIPs = [v4, v6];
      break;
    case 'none':
      break;
    case 'headless':
      Object.assign(spec, { clusterIP: 'None', clusterIPs: ['None'] });
      headless = true;
      break;
    case 'bad-single':
      spec['clusterIP'] = ci.raw;
      // An empty (falsy) clusterIP alone reads as "no cluster IP", which is no error.
      if (ci.raw) {
        invalid.push('spec.clusterIP');
        ipsUsable = false;
      }
      break;
    case 'bad-list':
      Object.assign(spec, { clusterIPs: [ci.raw] });
      invalid.push('spec.clusterIPs[0]');
      ipsUsable = false;
      break;
    case 'bad-second':
      Object.assign(spec, { clusterIP: v4, clusterIPs: [v4, ci.raw] });
      invalid.push('spec.clusterIPs[1]');
      clusterIPs = [v4];
      break;
    case 'same-family':
      Object.assign(spec, { clusterIP: v4, clusterIPs: [v4, `198.19.250.${(i % 200) + 1}`] });
      invalid.push('spec.clusterIPs[1]');
      clusterIPs = [v4];
      break;
    case 'mismatch':
      Object.assign(spec, { clusterIP: `198.19.251.${(i % 200) + 1}`, clusterIPs: [v4] });
      invalid.push('spec.clusterIP');
      ipsUsable = false;
      break;
  }
  if (rawType !== undefined) spec['type'] = rawType;

  spec['externalIPs'] = c.externalIPs.map((e) => e.value);
  c.externalIPs.forEach((e, k) => e.invalid && invalid.push(`spec.externalIPs[${k}]`));

  spec['loadBalancerSourceRanges'] = c.sourceRanges.map((r) => r.value);
  c.sourceRanges.forEach((r, k) => r.invalid && invalid.push(`spec.loadBalancerSourceRanges[${k}]`));
  const noneValid = c.sourceRanges.length > 0 && c.sourceRanges.every((r) => r.invalid);
  if (noneValid && rawType === 'LoadBalancer') invalid.push('spec.loadBalancerSourceRanges');

  const status = { loadBalancer: { ingress: c.ingress.map((g) => g.value) } };
  if (type === 'LoadBalancer' && !noneValid) c.ingress.forEach((g, k) => g.invalid && invalid.push(`status.loadBalancer.ingress[${k}].ip`));

  const aff = c.affinity.value as { kind?: string; timeout?: unknown };
  if (aff.kind !== undefined) spec['sessionAffinity'] = aff.kind;
  if (aff.kind === 'ClientIP' && aff.timeout !== undefined) spec['sessionAffinityConfig'] = { clientIP: { timeoutSeconds: aff.timeout } };
  if (c.affinity.invalid) invalid.push(aff.kind === 'ClientIP' ? 'spec.sessionAffinityConfig.clientIP.timeoutSeconds' : 'spec.sessionAffinity');

  if (c.etp.value !== undefined) spec['externalTrafficPolicy'] = c.etp.value;
  if (c.etp.invalid) invalid.push('spec.externalTrafficPolicy');
  if (c.itp.value !== undefined) spec['internalTrafficPolicy'] = c.itp.value;
  if (c.itp.invalid) invalid.push('spec.internalTrafficPolicy');
  if (c.hcnp.value !== undefined) spec['healthCheckNodePort'] = c.hcnp.value;
  if (c.hcnp.invalid) invalid.push('spec.healthCheckNodePort');

  const seen = new Set<string>();
  const ports: { key: string; port: number; protocol: string }[] = [];
  spec['ports'] = c.ports.map((p, k) => {
    const pname = p.dupOfPrevious && k > 0 ? (c.ports[k - 1]?.name ?? undefined) : p.name;
    const raw: Record<string, unknown> = { port: p.port.value };
    if (pname !== undefined) raw['name'] = pname;
    if (p.protocol.value !== undefined) raw['protocol'] = p.protocol.value;
    if (p.nodePort.value !== undefined) raw['nodePort'] = p.nodePort.value;
    let portOk = true;
    if (p.protocol.invalid) (invalid.push(`spec.ports[${k}].protocol`), (portOk = false));
    if (p.port.invalid) (invalid.push(`spec.ports[${k}].port`), (portOk = false));
    if (portOk && p.nodePort.invalid) invalid.push(`spec.ports[${k}].nodePort`);
    const key = pname ?? '';
    if (seen.has(key)) {
      invalid.push(`spec.ports[${k}].name`);
      portOk = false;
    }
    seen.add(key);
    if (portOk) ports.push({ key: `${namespace}/${name}:${key}`, port: p.port.value as number, protocol: (p.protocol.value as string | undefined) ?? 'TCP' });
    return raw;
  });

  const object = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, uid: `uid-${i}`, resourceVersion: '1' }, spec, status } as unknown as V1Service;

  // ExternalName and headless Services are not proxied and not validated further (as upstream).
  const skippedWhole = type === 'ExternalName' || headless;
  const programmed = skippedWhole || !ipsUsable || clusterIPs.length === 0 ? [] : ports;
  const rawPorts = spec['ports'] as { name?: string; protocol?: unknown }[];
  const slices = c.slices.map((s, k) => buildSlice(s, namespace, name, i, k, rawPorts));
  return {
    object,
    kind: 'Service',
    namespace,
    name,
    invalidFields: skippedWhole ? [] : invalid,
    ports: programmed,
    clusterIPs: programmed.length > 0 ? clusterIPs : [],
    slices,
  };
}

type SliceChoice = typeof sliceChoice extends fc.Arbitrary<infer T> ? T : never;

function buildSlice(
  s: SliceChoice,
  namespace: string,
  service: string,
  i: number,
  k: number,
  servicePorts: readonly { name?: string; protocol?: unknown }[],
): Expected<V1EndpointSlice> {
  const name = `${service}-s${k}`;
  const invalid: string[] = [];
  const family = s.addressType;
  const checked = family === 'IPv4' || family === 'IPv6';
  if (family === 'IPv5') invalid.push('addressType');
  // Ports mirror the Service's port names (so endpoints join), with their own numbers.
  const ports = servicePorts.map((sp, j) => {
    const pn = sp.name;
    const protoBad = s.portProtocolBad[j] ?? false;
    const num = s.portNumber[j] ?? { value: 8080 + j, invalid: false };
    const protocol = protoBad ? 'ICMP' : sp.protocol;
    // The Service's own invalid protocol is mirrored too, and is just as invalid here.
    const protoInvalid = protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(protocol as string);
    if (checked && protoInvalid) invalid.push(`ports[${j}].protocol`);
    else if (checked && num.invalid) invalid.push(`ports[${j}].port`);
    return { ...(pn !== undefined ? { name: pn } : {}), ...(protocol !== undefined ? { protocol } : {}), port: num.value };
  });
  const endpoints = s.endpoints.map((e, j) => {
    const good = family === 'IPv6' ? `2001:db8:1::${(i * 8 + e.host).toString(16)}` : `198.18.${1 + (i % 50)}.${e.host}`;
    const other = family === 'IPv6' ? `198.18.9.${e.host}` : `2001:db8:9::${e.host.toString(16)}`;
    const addresses = e.address === 'valid' ? [good] : e.address === 'empty' ? [] : e.address === 'invalid' ? ['999.1.1.1'] : [other];
    if (checked && e.address === 'empty') invalid.push(`endpoints[${j}].addresses`);
    if (checked && (e.address === 'invalid' || e.address === 'other-family')) invalid.push(`endpoints[${j}].addresses[0]`);
    const conditions: Record<string, boolean> = {};
    if (e.ready !== undefined) conditions['ready'] = e.ready;
    if (e.serving !== undefined) conditions['serving'] = e.serving;
    if (e.terminating !== undefined) conditions['terminating'] = e.terminating;
    return { addresses, conditions, ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}) };
  });
  const object = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, uid: `uid-${i}-${k}`, resourceVersion: '1', labels: { 'kubernetes.io/service-name': service } },
    addressType: family,
    ports,
    endpoints,
  } as unknown as V1EndpointSlice;
  return { object, kind: 'EndpointSlice', namespace, name, invalidFields: invalid };
}
