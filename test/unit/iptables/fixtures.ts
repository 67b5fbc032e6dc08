// Builders for iptables-mode tests: model values, config and a ready-made dataplane on the fake.

import { defaultConfig, type Draft } from '../../../proxy/config/defaults.js';
import { silentLogger } from '../../../proxy/log.js';
import type { Endpoint, NodeInfo, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { createIptablesDataplane } from '../../../modes/iptables/dataplane.js';
import { buildRenderOptions, type RenderOptions } from '../../../modes/iptables/options.js';
import type { Conntrack } from '../../../modes/shared/conntrack.js';
import { FakeIptablesRunner } from '../../fakes/iptables/fake-runner.js';
import { makeEndpoint, makeServicePort } from '../../support/model-builders.js';

export const NODE_IP = '198.18.0.2';

export function node(extra: Partial<NodeInfo> = {}): NodeInfo {
  return { name: 'node-a', labels: {}, zone: '', addresses: [NODE_IP], podCIDRs: ['198.18.16.0/24'], eligible: true, ...extra };
}

export function sp(ns: string, name: string, extra: Partial<ServicePort> = {}): ServicePort {
  return makeServicePort(ns, name, extra.portName ?? 'p80', extra);
}

export function ep(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return makeEndpoint(ip, { nodeName: 'node-b', ...extra });
}

export function localEp(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return ep(ip, { nodeName: 'node-a', isLocal: true, ...extra });
}

export function state(entries: [ServicePort, Endpoint[]][], n: NodeInfo = node()): ProxyState {
  return {
    services: new Map(entries.map(([s]) => [s.key, s])),
    endpoints: new Map(entries.map(([s, e]) => [s.key, e])),
    node: n,
  };
}

export function config(edit: (d: Draft) => void = () => undefined): Draft {
  const d = defaultConfig();
  d.clusterCIDRs = ['198.18.128.0/17', '2001:db8:1::/64'];
  edit(d);
  return d;
}

export function options(edit: (d: Draft) => void = () => undefined, family: 'IPv4' | 'IPv6' = 'IPv4'): RenderOptions {
  return buildRenderOptions({ config: config(edit), node: node(), family, localAddresses: [NODE_IP, '127.0.0.1'] });
}

export interface ConntrackCall {
  readonly op: string;
  readonly args: readonly unknown[];
}

export function recordingConntrack(): { ct: Conntrack; calls: ConntrackCall[] } {
  const calls: ConntrackCall[] = [];
  const rec = (op: string) => async (...args: unknown[]): Promise<void> => void calls.push({ op, args });
  return {
    calls,
    ct: {
      clearEntriesForIP: rec('ip'),
      clearEntriesForPort: rec('port'),
      clearEntriesForNAT: rec('nat'),
      clearEntriesForPortNAT: rec('portNat'),
    },
  };
}

export function harness(edit: (d: Draft) => void = () => undefined, families: ('IPv4' | 'IPv6')[] = ['IPv4'], chainBudget?: number) {
  const runner = new FakeIptablesRunner();
  const metrics = new ProxyMetrics({ processMetrics: false });
  const { ct, calls } = recordingConntrack();
  const dp = createIptablesDataplane({
    config: config(edit),
    runner,
    conntrack: ct,
    metrics,
    logger: silentLogger,
    families,
    localAddresses: () => [NODE_IP, '127.0.0.1'],
    ...(chainBudget === undefined ? {} : { chainBudget }),
  });
  return { runner, metrics, dp, conntrackCalls: calls };
}
