// `kube-proxy-ts trace --src IP --dst IP:PORT/PROTO`: fetches the ruleset the live daemon
// programmed and follows a new connection through it, printing the chain path and every possible
// destination with its probability: the iptables tracer over iptables-save text, or in nftables
// mode the nftables tracer over the table the kernel dumps (with each step of each outcome).

import { tracePacket, type TraceResult } from '../../modes/iptables/trace/tracer.js';
import { dumpFromJson } from '../../modes/nftables/trace/dump-json.js';
import { traceNftPacket, type NftTraceResult } from '../../modes/nftables/trace/tracer.js';
import { ipFamily } from '../model/ip.js';
import { getDebug, parseSubcommandArgs } from './debug-client.js';

export const TRACE_USAGE =
  'usage: kube-proxy-ts trace --src IP --dst IP:PORT/PROTO [--from-node] [--node-ip IP,...] [--metrics-address=127.0.0.1:10249] [--output=text|json]';

export interface ParsedDestination {
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

export function parseDestination(text: string): ParsedDestination {
  const m = /^\[?([0-9a-fA-F:.]+)\]?:(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(text);
  if (!m || !ipFamily(m[1]!) || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new Error(`invalid value "${text}" for flag --dst: expected IP:PORT/PROTO, e.g. 198.19.0.10:80/tcp`);
  }
  return { ip: m[1]!, port: Number(m[2]), protocol: (m[3]?.toLowerCase() ?? 'tcp') as ParsedDestination['protocol'] };
}

export async function runTrace(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const { opts, positional } = parseSubcommandArgs(argv, ['src', 'dst', 'metrics-address', 'node-ip', 'output', 'from-node']);
  const src = opts.get('src');
  const dstText = opts.get('dst');
  if (positional.length || !src || !dstText) throw new Error(TRACE_USAGE);
  if (!ipFamily(src)) throw new Error(`invalid value "${src}" for flag --src: expected an IP address`);
  const dst = parseDestination(dstText);
  const family = ipFamily(dst.ip)!;
  if (ipFamily(src) !== family) throw new Error('--src and --dst must be of the same IP family');
  const client = { metricsAddress: opts.get('metrics-address') ?? '127.0.0.1:10249' };
  const mode = (await (await getDebug(client, '/proxyMode')).text()).trim();
  const rules = await (await getDebug(client, `/debug/rules?family=${family}`)).text();
  const nodeIPs = opts.get('node-ip')?.split(',') ?? (await daemonNodeIPs(client));
  if (mode === 'nftables') {
    const r = traceNftPacket(dumpFromJson(rules), {
      src,
      dst: dst.ip,
      dport: dst.port,
      protocol: dst.protocol,
      localAddresses: nodeIPs,
      locallyOriginated: opts.get('from-node') === 'true',
    });
    out(opts.get('output') === 'json' ? JSON.stringify(r, null, 2) + '\n' : formatNftTrace(src, dst, r));
    return 0;
  }
  const result = tracePacket(rules, {
    src,
    protocol: dst.protocol,
    dst: dst.ip,
    dport: dst.port,
    nodeIPs,
    locallyOriginated: opts.get('from-node') === 'true',
  });
  out(opts.get('output') === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatTrace(src, dst, result));
  return 0;
}

async function daemonNodeIPs(client: { metricsAddress: string }): Promise<string[]> {
  const state = (await (await getDebug(client, '/debug/state')).json()) as { localAddresses?: string[] };
  return state.localAddresses ?? [];
}

export function formatTrace(src: string, dst: ParsedDestination, r: TraceResult): string {
  const lines = [`packet ${src} -> ${dst.ip}:${dst.port}/${dst.protocol}`, `  chains: ${r.chainPath.join(' -> ') || '(none)'}`];
  lines.push(`  verdict: ${r.verdict}${r.masquerade ? ' (masqueraded: the endpoint sees the node address)' : ''}`);
  if (r.destinations.length) {
    lines.push('  destinations:');
    for (const d of r.destinations) lines.push(`    ${(d.ip.includes(':') ? `[${d.ip}]` : d.ip) + ':' + d.port}  ${(d.probability * 100).toFixed(1)}%`);
  }
  return lines.join('\n') + '\n';
}

/** The iptables summary, then each distinct outcome with its share and the steps that led to it. */
export function formatNftTrace(src: string, dst: ParsedDestination, r: NftTraceResult): string {
  const lines = [formatTrace(src, dst, { chainPath: r.chainPath, destinations: r.destinations, verdict: r.verdict, masquerade: r.masquerade }).trimEnd()];
  lines.push('  outcomes:');
  for (const o of r.outcomes) {
    const where = o.verdict === 'DNAT' ? ` to ${o.ip.includes(':') ? `[${o.ip}]` : o.ip}:${o.port}` : '';
    lines.push(`    ${(o.probability * 100).toFixed(1)}% ${o.verdict}${where}${o.masquerade ? ' (masqueraded)' : ''}`);
    for (const s of o.steps) lines.push(`      ${s}`);
  }
  return lines.join('\n') + '\n';
}
