// Builders and in-memory fakes for the IPVS dataplane tests.

import { defaultConfig, type Draft } from '../../../proxy/config/defaults.js';
import type { Endpoint, NodeInfo, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import type { DummyLink } from '../../../modes/ipvs/dummy-link.js';
import type { IpsetRunner } from '../../../modes/ipvs/ipset-exec.js';
import { parseIpsetSave, type Membership } from '../../../modes/ipvs/ipsets.js';
import { rsKey, vsKey, type IpvsOps, type RealServer, type RealServerKey, type VirtualServer, type VirtualServerKey } from '../../../modes/ipvs/ops.js';
import type { Conntrack } from '../../../modes/shared/conntrack.js';
import { makeEndpoint, makeServicePort } from '../../support/model-builders.js';

/** Unit tests never run the conntrack tool (it would act on the host's own table). */
export const inertConntrack: Conntrack = {
  clearEntriesForIP: async () => undefined,
  clearEntriesForPort: async () => undefined,
  clearEntriesForNAT: async () => undefined,
  clearEntriesForPortNAT: async () => undefined,
};

export const NODE_IP = '198.18.0.2';

export function node(extra: Partial<NodeInfo> = {}): NodeInfo {
  return { name: 'node-a', labels: {}, zone: '', addresses: [NODE_IP], podCIDRs: [], eligible: true, ...extra };
}

export function sp(name: string, extra: Partial<ServicePort> = {}): ServicePort {
  return makeServicePort('ns', name, 'p', extra);
}

export function ep(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return makeEndpoint(ip, { nodeName: 'node-b', ...extra });
}

export const localEp = (ip: string, extra: Partial<Endpoint> = {}): Endpoint =>
  ep(ip, { nodeName: 'node-a', isLocal: true, ...extra });

export function state(entries: [ServicePort, Endpoint[]][], n: NodeInfo = node()): ProxyState {
  return {
    services: new Map(entries.map(([s]) => [s.key, s])),
    endpoints: new Map(entries.map(([s, e]) => [s.key, e])),
    node: n,
  };
}

export function config(edit: (d: Draft) => void = () => undefined): Draft {
  const d = defaultConfig();
  d.clusterCIDRs = ['198.18.128.0/17'];
  edit(d);
  return d;
}

interface FakeVs {
  vs: VirtualServer;
  rs: Map<string, RealServer>;
}

/** IPVS in memory, with the kernel's errors for duplicates and missing objects. */
export class FakeIpvs implements IpvsOps {
  readonly table = new Map<string, FakeVs>();
  operations = 0;
  closed = false;

  seed(vs: VirtualServer, rs: RealServer[] = []): void {
    this.table.set(vsKey(vs), { vs, rs: new Map(rs.map((r) => [rsKey(r), r])) });
  }
  /** Set a real server's connection counters (what the kernel would report). */
  setConns(vs: VirtualServerKey, rs: RealServerKey, active: number, inactive = 0): void {
    const r = this.get(vs).rs.get(rsKey(rs));
    if (!r) throw new Error('no such rs');
    this.get(vs).rs.set(rsKey(rs), { ...r, activeConns: active, inactiveConns: inactive });
  }
  realServers(vs: VirtualServerKey): RealServer[] {
    return [...(this.table.get(vsKey(vs))?.rs.values() ?? [])];
  }
  private get(vs: VirtualServerKey): FakeVs {
    const v = this.table.get(vsKey(vs));
    if (!v) throw new Error(`ESRCH ${vsKey(vs)}`);
    return v;
  }
  /** Dumps of the whole table, which a partial sync should not need. */
  listServicesCalls = 0;
  async listServices() {
    this.listServicesCalls++;
    return [...this.table.values()].map((v) => v.vs);
  }
  async addService(vs: VirtualServer) {
    this.operations++;
    if (this.table.has(vsKey(vs))) throw new Error(`EEXIST ${vsKey(vs)}`);
    this.table.set(vsKey(vs), { vs, rs: new Map() });
  }
  async updateService(vs: VirtualServer) {
    this.operations++;
    this.get(vs).vs = vs;
  }
  async deleteService(vs: VirtualServerKey) {
    this.operations++;
    this.get(vs);
    this.table.delete(vsKey(vs));
  }
  async listDestinations(vs: VirtualServerKey) {
    return [...(this.table.get(vsKey(vs))?.rs.values() ?? [])].map((r) => ({ activeConns: 0, inactiveConns: 0, ...r }));
  }
  async addDestination(vs: VirtualServerKey, rs: RealServer) {
    this.operations++;
    const v = this.get(vs);
    if (v.rs.has(rsKey(rs))) throw new Error('EEXIST rs');
    v.rs.set(rsKey(rs), rs);
  }
  async updateDestination(vs: VirtualServerKey, rs: RealServer) {
    this.operations++;
    const v = this.get(vs);
    const old = v.rs.get(rsKey(rs));
    if (!old) throw new Error('ENOENT rs');
    v.rs.set(rsKey(rs), { ...old, weight: rs.weight, fwdMethod: rs.fwdMethod });
  }
  async deleteDestination(vs: VirtualServerKey, rs: RealServerKey) {
    this.operations++;
    if (!this.get(vs).rs.delete(rsKey(rs))) throw new Error('ENOENT rs');
  }
  timeouts: unknown;
  async setTimeouts(t: unknown) {
    this.timeouts = t;
  }
  close() {
    this.closed = true;
  }
}

/** ipset restore/save in memory: enough of the text format for our own payloads. */
export class FakeIpset implements IpsetRunner {
  readonly sets = new Map<string, { type: string; entries: Set<string> }>();
  readonly restores: string[] = [];
  async restore(payload: string) {
    this.restores.push(payload);
    for (const line of payload.split('\n').filter(Boolean)) {
      const [cmd, name = '', ...rest] = line.split(' ');
      if (cmd === 'create') {
        if (!this.sets.has(name)) this.sets.set(name, { type: rest[0] ?? '', entries: new Set() });
        continue;
      }
      const set = this.sets.get(name);
      if (!set) throw new Error(`ipset: set ${name} does not exist`);
      if (cmd === 'flush') set.entries.clear();
      else if (cmd === 'add') set.entries.add(rest[0] ?? '');
      else if (cmd === 'del') set.entries.delete(rest[0] ?? '');
      else throw new Error(`ipset: bad line ${line}`);
    }
  }
  async save() {
    const lines: string[] = [];
    for (const [name, s] of this.sets) {
      lines.push(`create ${name} ${s.type}`);
      for (const e of s.entries) lines.push(`add ${name} ${e}`);
    }
    return lines.join('\n') + '\n';
  }
  async list() {
    return [...this.sets.keys()];
  }
  async destroy(name: string) {
    this.sets.delete(name);
  }
  membership(): Membership {
    return parseIpsetSave(['', ...[...this.sets].flatMap(([n, s]) => [`create ${n} x`, ...[...s.entries].map((e) => `add ${n} ${e}`)])].join('\n'));
  }
}

export class FakeLink implements DummyLink {
  exists = false;
  readonly addrs = new Set<string>();
  calls: string[] = [];
  async ensure() {
    this.exists = true;
  }
  async addresses() {
    return this.exists ? [...this.addrs] : [];
  }
  async apply(add: readonly string[], remove: readonly string[]) {
    if (add.length || remove.length) this.calls.push(`+${add.join(',')} -${remove.join(',')}`);
    if (!this.exists) throw new Error('no link');
    add.forEach((a) => this.addrs.add(a));
    remove.forEach((a) => this.addrs.delete(a));
  }
  async remove() {
    this.exists = false;
    this.addrs.clear();
  }
}
