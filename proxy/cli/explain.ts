// `kube-proxy-ts explain <namespace>/<service>[:<port>]`: asks the live daemon what it knows and
// programmed for a Service and prints it for humans (or as JSON with --output=json).

import { getDebug, parseSubcommandArgs } from './debug-client.js';

interface ExplainedPort {
  key: string;
  type: string;
  protocol: string;
  port: number;
  clusterIPs: string[];
  nodePort?: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  sessionAffinity: { type: string; timeoutSeconds?: number };
  externalTrafficPolicy: string;
  internalTrafficPolicy: string;
  healthCheckNodePort?: number;
  endpoints: { address: string; node: string; local: boolean; ready: boolean; serving: boolean; terminating: boolean; usedByThisNode: boolean }[];
  programmed: unknown;
}

interface Explained {
  query: string;
  error?: string;
  mode?: string;
  node?: string;
  ports?: ExplainedPort[];
}

export const EXPLAIN_USAGE = 'usage: kube-proxy-ts explain <namespace>/<service>[:<port>] [--metrics-address=127.0.0.1:10249] [--output=text|json]';

export async function runExplain(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const { opts, positional } = parseSubcommandArgs(argv, ['metrics-address', 'output']);
  const query = positional[0];
  if (!query || positional.length > 1 || !/^[^/]+\/[^/:]+(:[^/:]+)?$/.test(query)) throw new Error(EXPLAIN_USAGE);
  const res = await getDebug({ metricsAddress: opts.get('metrics-address') ?? '127.0.0.1:10249' }, `/debug/explain?service=${encodeURIComponent(query)}`);
  const data = (await res.json()) as Explained;
  if (opts.get('output') === 'json') out(JSON.stringify(data, null, 2) + '\n');
  else out(formatExplain(data));
  return data.error ? 1 : 0;
}

export function formatExplain(d: Explained): string {
  if (d.error) return `${d.query}: ${d.error}\n`;
  const lines: string[] = [];
  for (const p of d.ports ?? []) {
    lines.push(`Service port ${p.key} (${p.type}, ${p.protocol}) on node ${d.node} [mode ${d.mode}]`);
    const vips = [
      ...p.clusterIPs.map((ip) => `cluster IP ${hostPort(ip, p.port)}`),
      ...(p.nodePort ? [`node port ${p.nodePort}`] : []),
      ...p.externalIPs.map((ip) => `external IP ${hostPort(ip, p.port)}`),
      ...p.loadBalancerIPs.map((ip) => `load balancer ${hostPort(ip, p.port)}`),
    ];
    lines.push(`  VIPs: ${vips.join(', ') || 'none'}`);
    if (p.loadBalancerSourceRanges.length) lines.push(`  source ranges: ${p.loadBalancerSourceRanges.join(', ')}`);
    const aff = p.sessionAffinity.type === 'ClientIP' ? `ClientIP (${p.sessionAffinity.timeoutSeconds}s)` : 'None';
    lines.push(`  session affinity: ${aff}; traffic policy: external ${p.externalTrafficPolicy}, internal ${p.internalTrafficPolicy}`);
    if (p.healthCheckNodePort) lines.push(`  health check node port: ${p.healthCheckNodePort}`);
    lines.push(`  endpoints (${p.endpoints.length}):`);
    for (const e of p.endpoints) {
      const st = e.ready ? 'ready' : e.serving && e.terminating ? 'terminating (serving)' : e.terminating ? 'terminating' : 'not ready';
      lines.push(`    ${e.address.padEnd(24)} ${st.padEnd(22)} node=${e.node || '?'}${e.local ? ' (local)' : ''}${e.usedByThisNode ? '' : '  [not used by this node]'}`);
    }
    lines.push('  programmed:');
    lines.push(...formatProgrammed(p.programmed).map((l) => `    ${l}`));
    lines.push('');
  }
  return lines.join('\n');
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Dataplanes describe themselves as chain → rules maps, lists or plain objects; print any of them. */
function formatProgrammed(v: unknown, depth = 0): string[] {
  if (v === null || v === undefined) return ['(nothing)'];
  if (typeof v !== 'object') return [String(v)];
  if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'object' && x !== null ? formatProgrammed(x, depth + 1) : [String(x)]));
  const out: string[] = [];
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val === 'object' && val !== null) {
      out.push(`${k}:`);
      out.push(...formatProgrammed(val, depth + 1).map((l) => `  ${l}`));
    } else out.push(`${k}: ${String(val)}`);
  }
  return out;
}
