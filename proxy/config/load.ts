// Entry point of the config layer: argv (+ optional --config file) -> validated, frozen ProxyConfig.
//
// Precedence: defaults < --config file < flags given explicitly on the command line. Upstream
// ignores most flags once --config is set (only a few like --hostname-override still apply); we
// deliberately let every explicit flag win, because that is what operators expect when they add a
// flag to a DaemonSet that also mounts a config file, and it never changes behaviour for args that
// upstream itself would accept without --config.

import { readFileSync } from 'node:fs';
import { ipFamily } from '../model/ip.js';
import { DEFAULT_HEALTHZ_PORT, DEFAULT_METRICS_PORT, defaultConfig as mutableDefaults, type Draft } from './defaults.js';
import { ConfigError } from './errors.js';
import { applyConfigFile } from './file.js';
import { helpText, newFlagState, parseFlags, type FlagState } from './flags.js';
import type { ProxyConfig } from './types.js';
import { validateConfig } from './validate.js';
import { joinHostPort, splitHostPort } from './values.js';

export { ConfigError } from './errors.js';

export type ConfigAction = 'run' | 'help' | 'version' | 'write-config';

export interface LoadedConfig {
  readonly config: ProxyConfig;
  readonly warnings: string[];
  readonly action: ConfigAction;
  /** Set when action is 'help'. */
  readonly helpText?: string;
  /** Set when action is 'write-config': where to write kubeProxyConfigurationYAML(config). */
  readonly writeConfigTo?: string;
  /** --init-only was given: do the privileged node setup, then exit instead of proxying. */
  readonly initOnly: boolean;
}

/** Upstream's defaults, frozen. */
export function defaultConfig(): ProxyConfig {
  return deepFreeze(mutableDefaults());
}

const readUtf8 = (path: string): string => readFileSync(path, 'utf8');

/** Parse argv (without node and script path). Throws ConfigError with a message naming the culprit. */
export function loadConfig(argv: readonly string[], readFile: (path: string) => string = readUtf8): LoadedConfig {
  const given = parseFlags(argv);

  // First pass on a scratch state only to learn --help/--version/--config before anything else.
  const meta = newFlagState(mutableDefaults());
  for (const g of given) g.effect(meta);
  if (meta.help) return { config: defaultConfig(), warnings: [], action: 'help', helpText: helpText(), initOnly: false };
  if (meta.version) return { config: defaultConfig(), warnings: [], action: 'version', initOnly: false };

  const state = newFlagState(mutableDefaults());
  if (meta.configPath) {
    let text: string;
    try {
      text = readFile(meta.configPath);
    } catch (err) {
      throw new ConfigError(`failed to read --config file ${meta.configPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
    applyConfigFile(text, meta.configPath, state);
  }
  for (const g of given) g.effect(state);
  applyDerivedDefaults(state);

  const { errors, warnings } = validateConfig(state.draft);
  if (errors.length > 0) throw new ConfigError(`invalid configuration: ${errors.join('; ')}`);
  const config = deepFreeze(state.draft);
  const all = [...state.warnings, ...warnings];
  if (state.writeConfigTo) {
    return { config, warnings: all, action: 'write-config', writeConfigTo: state.writeConfigTo, initOnly: state.initOnly };
  }
  return { config, warnings: all, action: 'run', initOnly: state.initOnly };
}

/** The periods of the active mode's sync loop: ipvs' / nftables' in those modes, iptables' otherwise. */
export function syncPeriods(config: ProxyConfig): { syncPeriodMs: number; minSyncPeriodMs: number } {
  const p = config.mode === 'ipvs' ? config.ipvs : config.mode === 'nftables' ? config.nftables : config.iptables;
  return { syncPeriodMs: p.syncPeriodMs, minSyncPeriodMs: p.minSyncPeriodMs };
}

/** Defaults that depend on other settings, applied after the file and flags. */
function applyDerivedDefaults(s: FlagState): void {
  const d: Draft = s.draft;
  // Upstream defaults the server addresses to the IPv6 wildcard/loopback when bindAddress is IPv6.
  if (ipFamily(d.bindAddress) === 'IPv6') {
    if (!s.explicit.has('healthzBindAddress')) d.healthzBindAddress = `[::]:${DEFAULT_HEALTHZ_PORT}`;
    if (!s.explicit.has('metricsBindAddress')) d.metricsBindAddress = `[::1]:${DEFAULT_METRICS_PORT}`;
  }
  // Deprecated --healthz-port/--metrics-port replace the port of the bind address; 0 disables.
  if (s.healthzPort !== undefined) d.healthzBindAddress = withPort(d.healthzBindAddress, d.bindAddress, s.healthzPort);
  if (s.metricsPort !== undefined) d.metricsBindAddress = withPort(d.metricsBindAddress, '127.0.0.1', s.metricsPort);
}

function withPort(address: string, fallbackHost: string, port: number): string {
  if (port === 0) return '';
  return joinHostPort(splitHostPort(address)?.host ?? fallbackHost, port);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
