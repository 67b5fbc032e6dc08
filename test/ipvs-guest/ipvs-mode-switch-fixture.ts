// Upstream kube-proxy v1.26's IPVS-mode node state (shared/fixtures/upstream-1.26/ipvs, captured
// from a real upstream node), with its addresses moved onto the e2e cluster's plan so it can be
// loaded into node A as "upstream ran here and was stopped without cleanup". PURE (reads files):
// the guest test loads it with the tools upstream uses, the unit tests into the fakes.
//
// Moves: ClusterIPs 10.96.x → 198.19.x (the test service range); node kb-cap 198.18.0.10 → node A
// (198.18.0.1); externalIP/LB 198.18.0.50/.60 → 198.18.200.50/.60 (routed to node A by the
// external client); pods onto the cluster's echo pods (kb-cap's three onto a1/a2, kb-other's onto
// b1/b2); the UDP port 5353 onto the echo servers' 8080. Chain and set names do not depend on
// addresses, so nothing else changes.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../shared/fixtures/upstream-1.26/ipvs/', import.meta.url));

const ADDRESSES: Readonly<Record<string, string>> = {
  '198.18.0.10': '198.18.0.1',
  '198.18.0.50': '198.18.200.50',
  '198.18.0.60': '198.18.200.60',
  '198.18.1.2': '198.18.1.11',
  '198.18.1.3': '198.18.1.12',
  '198.18.1.5': '198.18.1.11',
  '198.18.2.4': '198.18.2.11',
  '198.18.2.6': '198.18.2.12',
};

/** The fixture's node names, kept (the test cluster is created with them). */
export const FIXTURE_NODES = { a: 'kb-cap', b: 'kb-other' } as const;

export function moveAddresses(text: string): string {
  return text
    .replace(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b/g, (ip: string) => {
      if (ip.startsWith('10.96.')) return `198.19.${ip.slice('10.96.'.length)}`;
      return ADDRESSES[ip] ?? ip;
    })
    .replace(/udp:5353\b/g, 'udp:8080')
    .replace(/(\d):5353\b/g, '$1:8080')
    .replace(/(port|targetPort): 5353\b/g, '$1: 8080');
}

const read = (name: string): string => moveAddresses(readFileSync(FIXTURE_DIR + name, 'utf8'));

export interface UpstreamVs {
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly address: string;
  readonly port: number;
  readonly scheduler: string;
  /** Persistence timeout in seconds (0: none). */
  readonly persistent: number;
  readonly realServers: ReadonlyArray<{ readonly address: string; readonly port: number; readonly weight: number }>;
}

/** `ipvsadm -Ln` output as virtual servers (IPv4 only: the capture has no IPv6). */
export function parseIpvsadmList(text: string): UpstreamVs[] {
  const out: Array<{ -readonly [K in keyof UpstreamVs]: UpstreamVs[K] }> = [];
  for (const line of text.split('\n')) {
    const vs = /^(TCP|UDP|SCTP)\s+([\d.]+):(\d+)\s+(\S+)(?:\s+persistent\s+(\d+))?/.exec(line);
    if (vs) {
      out.push({ protocol: vs[1] as UpstreamVs['protocol'], address: vs[2]!, port: Number(vs[3]), scheduler: vs[4]!, persistent: Number(vs[5] ?? 0), realServers: [] });
      continue;
    }
    const rs = /^\s+->\s+([\d.]+):(\d+)\s+Masq\s+(\d+)/.exec(line);
    if (rs && out.length) (out.at(-1)!.realServers as Array<UpstreamVs['realServers'][number]>).push({ address: rs[1]!, port: Number(rs[2]), weight: Number(rs[3]) });
  }
  return out;
}

/** The virtual servers as `ipvsadm -R` input (the format `ipvsadm -Sn` prints). */
export function ipvsadmRestore(vses: readonly UpstreamVs[]): string {
  const flag = (p: UpstreamVs['protocol']): string => ({ TCP: '-t', UDP: '-u', SCTP: '--sctp-service' })[p];
  const lines: string[] = [];
  for (const v of vses) {
    const key = `${flag(v.protocol)} ${v.address}:${v.port}`;
    lines.push(`-A ${key} -s ${v.scheduler}${v.persistent ? ` -p ${v.persistent}` : ''}`);
    for (const r of v.realServers) lines.push(`-a ${key} -r ${r.address}:${r.port} -m -w ${r.weight}`);
  }
  return lines.join('\n') + '\n';
}

/** The addresses upstream had on kube-ipvs0. */
export function parseLinkAddresses(text: string): string[] {
  return [...text.matchAll(/^\s+inet (\S+)\/32 /gm)].map((m) => m[1]!);
}

export interface UpstreamIpvsState {
  readonly ipsetSave: string;
  readonly iptablesSave: string;
  readonly virtualServers: UpstreamVs[];
  readonly linkAddresses: string[];
  /** Services and EndpointSlices as the apiserver served them (metadata trimmed to what create needs). */
  readonly objects: Array<Record<string, unknown>>;
}

export function loadUpstreamIpvs(): UpstreamIpvsState {
  const list = parseAllDocuments(read('objects-as-served.yaml'))[0]!.toJS() as { items: Array<Record<string, unknown>> };
  const objects = list.items.map((o) => {
    const md = o['metadata'] as Record<string, unknown>;
    return { ...o, metadata: { name: md['name'], namespace: md['namespace'], ...(md['labels'] ? { labels: md['labels'] } : {}) } };
  });
  return {
    ipsetSave: read('ipset-save.txt'),
    iptablesSave: read('iptables-save.txt'),
    virtualServers: parseIpvsadmList(read('ipvsadm-Ln.txt')),
    linkAddresses: parseLinkAddresses(read('kube-ipvs0.txt')),
    objects,
  };
}
