// The --config file: a KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) in YAML or JSON
// (JSON is YAML, so one parser reads both). Fields are described once in a table mapping their path
// to a value kind and the ProxyConfig field they set. Unknown fields only warn, so files written for
// newer upstream releases still load; wrong types are errors that name the field.

import { parse as parseYaml } from 'yaml';
import { DEFAULT_HEALTHZ_PORT, DEFAULT_METRICS_PORT, defaultConfig, type Draft } from './defaults.js';
import { ConfigError } from './errors.js';
import { unknownGateWarnings } from './feature-gates.js';
import { newFlagState, type FlagState } from './flags.js';
import type { DetectLocalMode, LoggingFormat, ProxyConfig, ProxyMode } from './types.js';
import {
  boolKind,
  cidrListKind,
  clusterCIDRKind,
  durationKind,
  enumKind,
  gatesKind,
  hostPortKind,
  intKind,
  ipKind,
  nodePortAddressesKind,
  stringKind,
  type Kind,
} from './values.js';

export const API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const KIND = 'KubeProxyConfiguration';

interface FieldDef {
  readonly path: string;
  read(value: unknown): { ok: true; apply: (s: FlagState) => void } | { ok: false; expected: string };
}

function field<T>(path: string, kind: Kind<T>, apply: (d: Draft, v: T, s: FlagState) => void): FieldDef {
  return {
    path,
    read: (value) => {
      const r = kind.fromYaml(value);
      return r.ok ? { ok: true, apply: (s) => apply(s.draft, r.value, s) } : { ok: false, expected: r.expected };
    },
  };
}

const MODES: readonly ProxyMode[] = ['iptables', 'ipvs', 'nftables', 'userspace', 'noop'];
const DETECT: readonly DetectLocalMode[] = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];
const FORMATS: readonly LoggingFormat[] = ['text', 'json'];

const FIELDS: readonly FieldDef[] = [
  field('mode', enumKind(MODES, 'iptables'), (d, v) => void (d.mode = v)),
  field('clientConnection.kubeconfig', stringKind, (d, v) => void (d.kubeconfig = v)),
  field('hostnameOverride', stringKind, (d, v) => void (d.hostnameOverride = v)),
  // Upstream writes "" for unset addresses; treat that as "use the default" rather than as an error.
  field('bindAddress', { ...ipKind, fromYaml: (v) => (v === '' ? { ok: true, value: '0.0.0.0' } : ipKind.fromYaml(v)) }, (d, v) => void (d.bindAddress = v)),
  field('healthzBindAddress', hostPortKind(DEFAULT_HEALTHZ_PORT), (d, v, s) => {
    d.healthzBindAddress = v;
    s.explicit.add('healthzBindAddress');
  }),
  field('metricsBindAddress', hostPortKind(DEFAULT_METRICS_PORT), (d, v, s) => {
    d.metricsBindAddress = v;
    s.explicit.add('metricsBindAddress');
  }),
  field('clusterCIDR', clusterCIDRKind, (d, v) => void (d.clusterCIDRs = v)),
  field('detectLocalMode', enumKind(DETECT, 'ClusterCIDR'), (d, v) => void (d.detectLocalMode = v)),
  field('detectLocal.bridgeInterface', stringKind, (d, v) => void (d.detectLocal.bridgeInterface = v)),
  field('detectLocal.interfaceNamePrefix', stringKind, (d, v) => void (d.detectLocal.interfaceNamePrefix = v)),
  field('nodePortAddresses', nodePortAddressesKind, (d, v) => void (d.nodePortAddresses = v)),
  field('oomScoreAdj', intKind(-1000, 1000), (d, v) => void (d.oomScoreAdj = v)),
  field('configSyncPeriod', durationKind('positive'), (d, v) => void (d.configSyncPeriodMs = v)),
  field('featureGates', gatesKind, (d, v, s) => {
    Object.assign(d.featureGates, v);
    s.warnings.push(...unknownGateWarnings(v, 'featureGates'));
  }),
  // Our extension (not in upstream's schema): see --use-endpoints.
  field('useEndpoints', boolKind, (d, v) => void (d.useEndpoints = v)),
  field('iptables.masqueradeBit', intKind(0, 31), (d, v) => void (d.iptables.masqueradeBit = v)),
  field('iptables.masqueradeAll', boolKind, (d, v) => void (d.iptables.masqueradeAll = v)),
  field('iptables.localhostNodePorts', boolKind, (d, v) => void (d.iptables.localhostNodePorts = v)),
  field('iptables.syncPeriod', durationKind('positive'), (d, v) => void (d.iptables.syncPeriodMs = v)),
  field('iptables.minSyncPeriod', durationKind('nonNegative'), (d, v) => void (d.iptables.minSyncPeriodMs = v)),
  field('nftables.masqueradeBit', intKind(0, 31), (d, v) => void (d.nftables.masqueradeBit = v)),
  field('nftables.masqueradeAll', boolKind, (d, v) => void (d.nftables.masqueradeAll = v)),
  field('nftables.syncPeriod', durationKind('positive'), (d, v) => void (d.nftables.syncPeriodMs = v)),
  field('nftables.minSyncPeriod', durationKind('nonNegative'), (d, v) => void (d.nftables.minSyncPeriodMs = v)),
  field('ipvs.syncPeriod', durationKind('positive'), (d, v) => void (d.ipvs.syncPeriodMs = v)),
  field('ipvs.minSyncPeriod', durationKind('nonNegative'), (d, v) => void (d.ipvs.minSyncPeriodMs = v)),
  field('ipvs.scheduler', stringKind, (d, v) => void (d.ipvs.scheduler = v === '' ? 'rr' : v)),
  field('ipvs.excludeCIDRs', cidrListKind, (d, v) => void (d.ipvs.excludeCIDRs = v)),
  field('ipvs.strictARP', boolKind, (d, v) => void (d.ipvs.strictARP = v)),
  field('ipvs.tcpTimeout', durationKind('nonNegative'), (d, v) => void (d.ipvs.tcpTimeoutMs = v)),
  field('ipvs.tcpFinTimeout', durationKind('nonNegative'), (d, v) => void (d.ipvs.tcpFinTimeoutMs = v)),
  field('ipvs.udpTimeout', durationKind('nonNegative'), (d, v) => void (d.ipvs.udpTimeoutMs = v)),
  field('ipvs.gracefulTerminationPeriod', durationKind('nonNegative'), (d, v) => void (d.ipvs.gracefulTerminationPeriodMs = v)),
  field('conntrack.maxPerCore', intKind(0), (d, v) => void (d.conntrack.maxPerCore = v)),
  field('conntrack.min', intKind(0), (d, v) => void (d.conntrack.min = v)),
  field('conntrack.tcpEstablishedTimeout', durationKind('nonNegative'), (d, v) => void (d.conntrack.tcpEstablishedTimeoutMs = v)),
  field('conntrack.tcpCloseWaitTimeout', durationKind('nonNegative'), (d, v) => void (d.conntrack.tcpCloseWaitTimeoutMs = v)),
  field('conntrack.tcpBeLiberal', boolKind, (d, v) => void (d.conntrack.tcpBeLiberal = v)),
  field('conntrack.udpTimeout', durationKind('nonNegative'), (d, v) => void (d.conntrack.udpTimeoutMs = v)),
  field('conntrack.udpStreamTimeout', durationKind('nonNegative'), (d, v) => void (d.conntrack.udpStreamTimeoutMs = v)),
  field('logging.format', enumKind(FORMATS, 'text'), (d, v) => void (d.logging.format = v)),
  field('logging.verbosity', intKind(0), (d, v) => void (d.logging.verbosity = v)),
];

const BY_PATH = new Map(FIELDS.map((f) => [f.path, f]));

/** Objects whose children are described in FIELDS. */
const BLOCKS = new Set(['clientConnection', 'detectLocal', 'iptables', 'nftables', 'ipvs', 'conntrack', 'logging']);

/** Upstream fields (or whole blocks) that are valid but mean nothing to us: accepted silently. */
const IGNORED = new Set([
  'apiVersion',
  'kind',
  'clientConnection.acceptContentTypes',
  'clientConnection.contentType',
  'clientConnection.qps',
  'clientConnection.burst',
  'bindAddressHardFail',
  'enableProfiling',
  'showHiddenMetricsForVersion',
  'portRange',
  'udpIdleTimeout',
  'windowsRunAsService',
  'winkernel',
  'logging.flushFrequency',
  'logging.options',
]);

/** Parse file text into its top-level object, checking apiVersion and kind. */
export function decodeConfigFile(text: string, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`failed to parse config file ${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(doc)) throw new ConfigError(`config file ${source} must contain a ${KIND} object`);
  if (doc['apiVersion'] !== API_VERSION) {
    throw new ConfigError(`config file ${source}: unsupported apiVersion ${JSON.stringify(doc['apiVersion'] ?? '')}, expected "${API_VERSION}"`);
  }
  if (doc['kind'] !== KIND) {
    throw new ConfigError(`config file ${source}: unsupported kind ${JSON.stringify(doc['kind'] ?? '')}, expected "${KIND}"`);
  }
  return doc;
}

/** Apply a config file's fields onto `state` (its draft, warnings and explicit set). */
export function applyConfigFile(text: string, source: string, state: FlagState): void {
  walk(decodeConfigFile(text, source), '', source, state);
}

/** Defaults overlaid with one config file, for callers that have no flags. */
export function parseConfigFile(text: string, source = 'config'): { config: ProxyConfig; warnings: string[] } {
  const state = newFlagState(defaultConfig());
  applyConfigFile(text, source, state);
  return { config: state.draft, warnings: state.warnings };
}

function walk(obj: Record<string, unknown>, prefix: string, source: string, state: FlagState): void {
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (IGNORED.has(path)) continue;
    // A null value is Go's "unset": keep the default, as upstream's defaulting does.
    if (value === null) continue;
    const def = BY_PATH.get(path);
    if (def) {
      const r = def.read(value);
      if (!r.ok) {
        throw new ConfigError(`config file ${source}: invalid value ${JSON.stringify(value)} for field "${path}": expected ${r.expected}`);
      }
      r.apply(state);
    } else if (BLOCKS.has(path)) {
      if (!isObject(value)) throw new ConfigError(`config file ${source}: field "${path}" must be an object`);
      walk(value, path, source, state);
    } else {
      state.warnings.push(`config file ${source}: unknown field "${path}" ignored`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
