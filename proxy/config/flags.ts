// The command line: one table of flag definitions (name, kind, default, help, effect) and a small
// pflag-compatible parser over it. Names, defaults and value syntax follow upstream kube-proxy so an
// upstream DaemonSet's args work unchanged; flags we cannot honour are accepted and ignored.

import { DEFAULT_HEALTHZ_PORT, DEFAULT_METRICS_PORT, type Draft } from './defaults.js';
import { ConfigError } from './errors.js';
import { unknownGateWarnings } from './feature-gates.js';
import type { DetectLocalMode, LoggingFormat, ProxyMode } from './types.js';
import {
  boolKind,
  clusterCIDRKind,
  cidrListKind,
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

/** What applying flags (and the config file) accumulates besides the config itself. */
export interface FlagState {
  readonly draft: Draft;
  readonly warnings: string[];
  /** Config fields set explicitly by the file or a flag, for defaults that depend on other fields. */
  readonly explicit: Set<string>;
  configPath?: string;
  writeConfigTo?: string;
  help: boolean;
  version: boolean;
  initOnly: boolean;
  /** Deprecated --healthz-port / --metrics-port, combined with the bind address host afterwards. */
  healthzPort?: number;
  metricsPort?: number;
}

export type Effect = (state: FlagState) => void;

export function newFlagState(draft: Draft): FlagState {
  return { draft, warnings: [], explicit: new Set(), help: false, version: false, initOnly: false };
}

export interface FlagDef {
  readonly name: string;
  /** Other long names for the same flag (--mode for --proxy-mode). */
  readonly aliases: readonly string[];
  /** Single-letter form used with one dash (-v, -h). */
  readonly shorthand?: string;
  /** Boolean flags take no separate argument: `--x` or `--x=false`, never `--x false` (as pflag). */
  readonly isBool: boolean;
  readonly typeName: string;
  /** Default as written on the command line; a unit test checks it reproduces defaultConfig(). */
  readonly defaultText: string;
  readonly help: string;
  /** Parse `raw`; on success, the change it makes. */
  bind(raw: string): { ok: true; effect: Effect } | { ok: false; expected: string };
}

interface Extra {
  readonly aliases?: readonly string[];
  readonly shorthand?: string;
}

function flag<T>(
  name: string,
  kind: Kind<T>,
  defaultText: string,
  help: string,
  apply: (s: FlagState, v: T) => void,
  extra: Extra = {},
): FlagDef {
  return {
    name,
    aliases: extra.aliases ?? [],
    ...(extra.shorthand !== undefined ? { shorthand: extra.shorthand } : {}),
    isBool: kind === boolKind,
    typeName: kind.typeName,
    defaultText,
    help,
    bind: (raw) => {
      const r = kind.fromText(raw);
      return r.ok ? { ok: true, effect: (s) => apply(s, r.value) } : { ok: false, expected: r.expected };
    },
  };
}

/** Upstream flags we accept (checking the value's type) but do not act on. */
function ignored<T>(name: string, kind: Kind<T>, defaultText: string, help: string): FlagDef {
  return flag(name, kind, defaultText, `${help} (accepted for compatibility; ignored)`, () => undefined);
}

const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'ipvs', 'nftables', 'userspace', 'noop'];
const DETECT_LOCAL_MODES: readonly DetectLocalMode[] = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];
const LOGGING_FORMATS: readonly LoggingFormat[] = ['text', 'json'];
const explicit = (s: FlagState, field: string): void => void s.explicit.add(field);

export const FLAGS: readonly FlagDef[] = [
  // Process and action flags.
  flag('config', stringKind, '', 'Path to a KubeProxyConfiguration file (YAML or JSON). Flags given explicitly override its values.', (s, v) => {
    s.configPath = v;
  }),
  flag('write-config-to', stringKind, '', 'Write the effective configuration as KubeProxyConfiguration YAML to this path and exit.', (s, v) => {
    s.writeConfigTo = v;
  }),
  flag('cleanup', boolKind, 'false', 'Remove the iptables and ipvs rules kube-proxy created, then exit.', (s, v) => {
    s.draft.cleanup = v;
  }),
  flag('init-only', boolKind, 'false', 'Do the privileged node setup (sysctls, conntrack limits), then exit.', (s, v) => {
    s.initOnly = v;
  }),
  flag('version', boolKind, 'false', 'Print version information and exit.', (s, v) => {
    s.version = v;
  }),
  flag('help', boolKind, 'false', 'Print this help and exit.', (s, v) => {
    s.help = v;
  }, { shorthand: 'h' }),
  flag('feature-gates', gatesKind, '', 'Comma-separated key=true|false pairs enabling or disabling features. Unknown gates are warned about, not rejected.', (s, v) => {
    Object.assign(s.draft.featureGates, v);
    s.warnings.push(...unknownGateWarnings(v, '--feature-gates'));
  }),

  // API server connection.
  flag('kubeconfig', stringKind, '', 'Path to a kubeconfig file with authorization information; empty means in-cluster config.', (s, v) => {
    s.draft.kubeconfig = v;
  }),
  flag('master', stringKind, '', 'Address of the Kubernetes API server; overrides the server in --kubeconfig.', (s, v) => {
    s.draft.master = v;
  }),
  flag('use-endpoints', boolKind, 'false', 'Watch core/v1 Endpoints instead of discovery.k8s.io/v1 EndpointSlices (for old clusters).', (s, v) => {
    s.draft.useEndpoints = v;
  }),
  flag('config-sync-period', durationKind('positive'), '15m0s', 'How often informers re-list Services and endpoints from the API server.', (s, v) => {
    s.draft.configSyncPeriodMs = v;
  }),
  ignored('kube-api-content-type', stringKind, 'application/vnd.kubernetes.protobuf', 'Content type of requests sent to the API server.'),
  ignored('kube-api-qps', stringKind, '5', 'QPS to use while talking with the API server.'),
  ignored('kube-api-burst', intKind(0), '10', 'Burst to use while talking with the API server.'),

  // Identity and addresses.
  flag('hostname-override', stringKind, '', "Name to use for this node instead of the host's hostname.", (s, v) => {
    s.draft.hostnameOverride = v;
  }),
  flag('bind-address', ipKind, '0.0.0.0', "The node's primary IP address (kube-proxy binds nothing to it; the name is historical).", (s, v) => {
    s.draft.bindAddress = v;
  }),
  flag('healthz-bind-address', hostPortKind(DEFAULT_HEALTHZ_PORT), `0.0.0.0:${DEFAULT_HEALTHZ_PORT}`, 'IP:port for the health check server; empty disables it.', (s, v) => {
    s.draft.healthzBindAddress = v;
    explicit(s, 'healthzBindAddress');
  }),
  flag('metrics-bind-address', hostPortKind(DEFAULT_METRICS_PORT), `127.0.0.1:${DEFAULT_METRICS_PORT}`, 'IP:port for the metrics server (use 0.0.0.0:10249 for all interfaces); empty disables it.', (s, v) => {
    s.draft.metricsBindAddress = v;
    explicit(s, 'metricsBindAddress');
  }),
  flag('healthz-port', intKind(0, 65535), String(DEFAULT_HEALTHZ_PORT), 'Deprecated: port for the health check server, combined with the host of --healthz-bind-address; 0 disables it.', (s, v) => {
    s.healthzPort = v;
    s.warnings.push('--healthz-port is deprecated; use --healthz-bind-address');
  }),
  flag('metrics-port', intKind(0, 65535), String(DEFAULT_METRICS_PORT), 'Deprecated: port for the metrics server, combined with the host of --metrics-bind-address; 0 disables it.', (s, v) => {
    s.metricsPort = v;
    s.warnings.push('--metrics-port is deprecated; use --metrics-bind-address');
  }),
  ignored('bind-address-hard-fail', boolKind, 'false', 'Treat failure to bind a port as fatal.'),
  ignored('profiling', boolKind, 'false', 'Serve /debug/pprof on the metrics server.'),
  ignored('show-hidden-metrics-for-version', stringKind, '', 'Previous version whose hidden metrics to show.'),

  // Mode and local-traffic detection.
  flag('proxy-mode', enumKind(PROXY_MODES, 'iptables'), 'iptables', "Which proxy mode to use: 'iptables', 'ipvs', 'nftables', 'userspace', or 'noop' (dry run: programs nothing, logs what it would do). Empty means iptables.", (s, v) => {
    s.draft.mode = v;
  }, { aliases: ['mode'] }),
  flag('cluster-cidr', clusterCIDRKind, '', 'The pod CIDR range(s) of the cluster, as one CIDR or a comma-separated dual-stack pair; traffic to services from outside it is masqueraded.', (s, v) => {
    s.draft.clusterCIDRs = v;
  }),
  flag('detect-local-mode', enumKind(DETECT_LOCAL_MODES, 'ClusterCIDR'), 'ClusterCIDR', 'How to tell local pod traffic from other traffic: ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix.', (s, v) => {
    s.draft.detectLocalMode = v;
  }),
  flag('pod-bridge-interface', stringKind, '', 'Bridge interface name used when --detect-local-mode is BridgeInterface.', (s, v) => {
    s.draft.detectLocal.bridgeInterface = v;
  }),
  flag('pod-interface-name-prefix', stringKind, '', 'Interface name prefix used when --detect-local-mode is InterfaceNamePrefix.', (s, v) => {
    s.draft.detectLocal.interfaceNamePrefix = v;
  }),
  flag('nodeport-addresses', nodePortAddressesKind, '', "Comma-separated CIDRs whose local addresses accept NodePort traffic, or 'primary' or 'all'; empty means all.", (s, v) => {
    s.draft.nodePortAddresses = v;
  }),
  flag('masquerade-all', boolKind, 'false', 'SNAT all traffic sent via service cluster IPs.', (s, v) => {
    // Upstream's flag sets both modes' masqueradeAll.
    s.draft.iptables.masqueradeAll = v;
    s.draft.nftables.masqueradeAll = v;
  }),
  flag('oom-score-adj', intKind(-1000, 1000), '-999', 'The oom_score_adj value for the kube-proxy process, in [-1000, 1000].', (s, v) => {
    s.draft.oomScoreAdj = v;
  }),

  // Upstream's mode-independent period flags. iptables and ipvs keep their own flags (whose
  // defaults differ), so here these set nftables mode's periods.
  flag('sync-period', durationKind('positive'), '30s', 'Maximum interval between full nftables rule syncs.', (s, v) => {
    s.draft.nftables.syncPeriodMs = v;
  }),
  flag('min-sync-period', durationKind('nonNegative'), '1s', 'Minimum interval between nftables rule resyncs as endpoints and services change.', (s, v) => {
    s.draft.nftables.minSyncPeriodMs = v;
  }),

  // iptables.
  flag('iptables-sync-period', durationKind('positive'), '30s', 'Maximum interval between full iptables rule syncs.', (s, v) => {
    s.draft.iptables.syncPeriodMs = v;
  }),
  flag('iptables-min-sync-period', durationKind('nonNegative'), '1s', 'Minimum interval between iptables rule resyncs as endpoints and services change.', (s, v) => {
    s.draft.iptables.minSyncPeriodMs = v;
  }),
  flag('iptables-masquerade-bit', intKind(0, 31), '14', 'The bit of the fwmark space that marks packets needing SNAT, in [0, 31].', (s, v) => {
    s.draft.iptables.masqueradeBit = v;
  }),
  flag('iptables-localhost-nodeports', boolKind, 'true', 'Accept NodePort connections on 127.0.0.1 (IPv4 iptables mode only).', (s, v) => {
    s.draft.iptables.localhostNodePorts = v;
  }),

  // ipvs.
  flag('ipvs-scheduler', stringKind, 'rr', 'The ipvs scheduler; empty means rr.', (s, v) => {
    s.draft.ipvs.scheduler = v === '' ? 'rr' : v;
  }),
  flag('ipvs-sync-period', durationKind('positive'), '30s', 'Maximum interval between full ipvs rule syncs.', (s, v) => {
    s.draft.ipvs.syncPeriodMs = v;
  }),
  flag('ipvs-min-sync-period', durationKind('nonNegative'), '0s', 'Minimum interval between ipvs rule resyncs as endpoints and services change.', (s, v) => {
    s.draft.ipvs.minSyncPeriodMs = v;
  }),
  flag('ipvs-exclude-cidrs', cidrListKind, '', 'Comma-separated CIDRs that the ipvs proxier must not touch when cleaning up rules.', (s, v) => {
    s.draft.ipvs.excludeCIDRs = v;
  }),
  flag('ipvs-strict-arp', boolKind, 'false', 'Set arp_ignore=1 and arp_announce=2.', (s, v) => {
    s.draft.ipvs.strictARP = v;
  }),
  flag('ipvs-tcp-timeout', durationKind('nonNegative'), '0s', 'Timeout for idle ipvs TCP connections; 0 leaves it unchanged.', (s, v) => {
    s.draft.ipvs.tcpTimeoutMs = v;
  }),
  flag('ipvs-tcpfin-timeout', durationKind('nonNegative'), '0s', 'Timeout for ipvs TCP connections after FIN; 0 leaves it unchanged.', (s, v) => {
    s.draft.ipvs.tcpFinTimeoutMs = v;
  }),
  flag('ipvs-udp-timeout', durationKind('nonNegative'), '0s', 'Timeout for ipvs UDP packets; 0 leaves it unchanged.', (s, v) => {
    s.draft.ipvs.udpTimeoutMs = v;
  }),
  flag('ipvs-graceful-termination-period', durationKind('nonNegative'), '1m0s', 'How long a removed IPVS real server that still has connections keeps weight 0 before it is deleted (not in upstream, which waits a fixed minute).', (s, v) => {
    s.draft.ipvs.gracefulTerminationPeriodMs = v;
  }),

  // conntrack.
  flag('conntrack-max-per-core', intKind(0), '32768', 'Maximum NAT connections to track per CPU core; 0 leaves the kernel limit alone and ignores --conntrack-min.', (s, v) => {
    s.draft.conntrack.maxPerCore = v;
  }),
  flag('conntrack-min', intKind(0), '131072', 'Minimum conntrack entries to allocate, regardless of --conntrack-max-per-core.', (s, v) => {
    s.draft.conntrack.min = v;
  }),
  flag('conntrack-tcp-timeout-established', durationKind('nonNegative'), '24h0m0s', 'Idle timeout for established TCP connections; 0 leaves it unchanged.', (s, v) => {
    s.draft.conntrack.tcpEstablishedTimeoutMs = v;
  }),
  flag('conntrack-tcp-timeout-close-wait', durationKind('nonNegative'), '1h0m0s', 'How long TCP conntrack entries stay in CLOSE_WAIT; 0 leaves it unchanged.', (s, v) => {
    s.draft.conntrack.tcpCloseWaitTimeoutMs = v;
  }),
  flag('conntrack-tcp-be-liberal', boolKind, 'false', 'Set nf_conntrack_tcp_be_liberal=1 so out-of-window packets are not marked INVALID.', (s, v) => {
    s.draft.conntrack.tcpBeLiberal = v;
  }),
  flag('conntrack-udp-timeout', durationKind('nonNegative'), '0s', 'Idle timeout for UNREPLIED UDP conntrack entries; 0 leaves it unchanged.', (s, v) => {
    s.draft.conntrack.udpTimeoutMs = v;
  }),
  flag('conntrack-udp-timeout-stream', durationKind('nonNegative'), '0s', 'Idle timeout for ASSURED UDP conntrack entries; 0 leaves it unchanged.', (s, v) => {
    s.draft.conntrack.udpStreamTimeoutMs = v;
  }),

  // Logging.
  flag('v', intKind(0), '0', 'Log verbosity level.', (s, v) => {
    s.draft.logging.verbosity = v;
  }, { shorthand: 'v' }),
  flag('logging-format', enumKind(LOGGING_FORMATS), 'text', 'Log format: text or json.', (s, v) => {
    s.draft.logging.format = v;
  }),
];

/** One flag occurrence on the command line, already parsed. */
export interface GivenFlag {
  readonly def: FlagDef;
  /** As the user spelled it ("--mode", "-v"), for messages. */
  readonly spelled: string;
  readonly effect: Effect;
}

/** Parse argv (without node and script) against `defs`. Throws ConfigError naming the flag at fault. */
export function parseFlags(argv: readonly string[], defs: readonly FlagDef[] = FLAGS): GivenFlag[] {
  const byLong = new Map<string, FlagDef>();
  const byShort = new Map<string, FlagDef>();
  for (const d of defs) {
    for (const n of [d.name, ...d.aliases]) byLong.set(n, d);
    if (d.shorthand !== undefined) byShort.set(d.shorthand, d);
  }
  const given: GivenFlag[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      if (i + 1 < argv.length) throw positional(argv[i + 1] ?? '');
      break;
    }
    let def: FlagDef | undefined;
    let spelled: string;
    let value: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      spelled = `--${name}`;
      if (eq >= 0) value = arg.slice(eq + 1);
      def = byLong.get(name);
      if (!def) throw new ConfigError(`unknown flag: ${spelled} (run with --help to list flags)`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      const letter = arg.slice(1, 2);
      spelled = `-${letter}`;
      def = byShort.get(letter);
      const rest = arg.slice(2);
      // Single-dash long names (Go's flag package style) are not pflag syntax; say so clearly.
      if (!def || (def.isBool && rest !== '' && !rest.startsWith('='))) {
        throw new ConfigError(`unknown shorthand flag: '${letter}' in ${arg} (long flags take two dashes)`);
      }
      if (rest.startsWith('=')) value = rest.slice(1);
      else if (rest !== '') value = rest; // -v2
    } else {
      throw positional(arg);
    }
    if (value === undefined) {
      if (def.isBool) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i] ?? '';
      else throw new ConfigError(`flag needs an argument: ${spelled}`);
    }
    const bound = def.bind(value);
    if (!bound.ok) throw new ConfigError(`invalid value "${value}" for flag ${spelled}: expected ${bound.expected}`);
    given.push({ def, spelled, effect: bound.effect });
  }
  return given;
}

function positional(arg: string): ConfigError {
  return new ConfigError(`unexpected argument "${arg}": kube-proxy-ts takes only flags`);
}

/** pflag-style usage text listing every flag with its type, help and default. */
export function helpText(defs: readonly FlagDef[] = FLAGS, program = 'kube-proxy-ts'): string {
  const rows = [...defs]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((d) => {
      const names = [d.shorthand !== undefined ? `-${d.shorthand}, ` : '    ', `--${d.name}`].join('');
      const left = `  ${names}${d.typeName ? ` ${d.typeName}` : ''}`;
      const aliases = d.aliases.length ? ` Alias: ${d.aliases.map((a) => `--${a}`).join(', ')}.` : '';
      const dflt = d.typeName === 'string' || d.defaultText === '' ? JSON.stringify(d.defaultText) : d.defaultText;
      return { left, right: `${d.help}${aliases} (default ${dflt})` };
    });
  const width = Math.max(...rows.map((r) => r.left.length)) + 3;
  const lines = rows.map((r) => r.left.padEnd(width) + r.right);
  return [
    `${program} is a TypeScript reimplementation of the Kubernetes network proxy (kube-proxy).`,
    'It watches Services and EndpointSlices and programs iptables or ipvs rules on the node.',
    '',
    'Usage:',
    `  ${program} [flags]`,
    '',
    'Flags:',
    ...lines,
    '',
  ].join('\n');
}
