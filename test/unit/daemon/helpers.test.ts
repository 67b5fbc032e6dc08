import { describe, expect, it } from 'vitest';
import { formatExplain } from '../../../proxy/cli/explain.js';
import { parseSubcommandArgs } from '../../../proxy/cli/debug-client.js';
import { formatTrace, parseDestination } from '../../../proxy/cli/trace.js';
import { defaultConfig } from '../../../proxy/config/load.js';
import { matchingPorts } from '../../../proxy/explain.js';
import { selectNodePortAddresses } from '../../../proxy/node-ips.js';
import { plannedSysctls } from '../../../proxy/node-setup.js';
import { serviceHealthTargets } from '../../../proxy/service-health-targets.js';
import type { ProxyState } from '../../../proxy/model/types.js';
import { ep, nodeInfo, sp } from '../model/fixtures.js';

describe('selectNodePortAddresses', () => {
  const local = ['127.0.0.1', '198.18.0.1', '198.18.1.1', '::1', '2001:db8::1'];
  it('empty or "all" means every local address', () => {
    expect(selectNodePortAddresses([], local, [], 'IPv4')).toBe('all');
    expect(selectNodePortAddresses(['all'], local, [], 'IPv4')).toBe('all');
  });
  it('CIDRs pick the local addresses of the family inside them', () => {
    expect(selectNodePortAddresses(['198.18.0.0/24', '2001:db8::/64'], local, [], 'IPv4')).toEqual(['198.18.0.1']);
    expect(selectNodePortAddresses(['198.18.0.0/24', '2001:db8::/64'], local, [], 'IPv6')).toEqual(['2001:db8::1']);
  });
  it('a selection without a CIDR of the family means every address of that family (upstream)', () => {
    expect(selectNodePortAddresses(['198.18.0.0/24'], local, [], 'IPv6')).toBe('all');
    expect(selectNodePortAddresses(['2001:db8::/64'], local, [], 'IPv4')).toBe('all');
    // "primary" names both families: never widened.
    expect(selectNodePortAddresses(['primary'], local, ['198.18.0.1'], 'IPv6')).toEqual([]);
  });
  it('"primary" picks the node primary addresses', () => {
    expect(selectNodePortAddresses(['primary'], local, ['198.18.0.1', '2001:db8::1'], 'IPv4')).toEqual(['198.18.0.1']);
  });
});

describe('plannedSysctls', () => {
  it('sizes the conntrack table like upstream and never shrinks it', () => {
    const w = plannedSysctls(defaultConfig(), 4).find((x) => x.path.endsWith('nf_conntrack_max'));
    expect(w).toEqual({ path: '/proc/sys/net/netfilter/nf_conntrack_max', value: String(Math.max(32768 * 4, 131072)), raiseOnly: true });
  });
  it('leaves the conntrack table alone with --conntrack-max-per-core=0 and sets timeouts in seconds', () => {
    const c = defaultConfig();
    const w = plannedSysctls({ ...c, conntrack: { ...c.conntrack, maxPerCore: 0 } }, 4);
    expect(w.some((x) => x.path.endsWith('nf_conntrack_max'))).toBe(false);
    expect(w.find((x) => x.path.endsWith('tcp_timeout_established'))?.value).toBe('86400');
    expect(w.find((x) => x.path.endsWith('tcp_timeout_close_wait'))?.value).toBe('3600');
  });
  it('writes nothing in noop mode callers skip, and route_localnet only for iptables localhost nodeports', () => {
    const c = defaultConfig();
    expect(plannedSysctls(c, 1).some((x) => x.path.endsWith('route_localnet'))).toBe(true);
    expect(plannedSysctls({ ...c, mode: 'ipvs' }, 1).some((x) => x.path.endsWith('route_localnet'))).toBe(false);
  });
});

describe('serviceHealthTargets', () => {
  it('counts distinct local endpoints of Local-policy services with a health check port', () => {
    const lb = sp({ key: 'ns/lb:http', name: 'lb', namespace: 'ns', type: 'LoadBalancer', nodePort: 30080, externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 });
    const lb2 = { ...lb, key: 'ns/lb:https', portName: 'https', port: 443 };
    const cluster = sp({ key: 'ns/c:http', name: 'c', namespace: 'ns', type: 'NodePort', nodePort: 30081 });
    const state: ProxyState = {
      services: new Map([[lb.key, lb], [lb2.key, lb2], [cluster.key, cluster]]),
      endpoints: new Map([
        [lb.key, [ep('198.18.1.11', { isLocal: true }), ep('198.18.1.12', { isLocal: true }), ep('198.18.2.11', { isLocal: false })]],
        [lb2.key, [ep('198.18.1.11', { isLocal: true, port: 8443 })]],
        [cluster.key, [ep('198.18.1.11', { isLocal: true })]],
      ]),
      node: nodeInfo(),
    };
    expect([...serviceHealthTargets(state)]).toEqual([['ns/lb', { port: 32000, localEndpoints: 2 }]]);
  });
});

describe('explain and trace helpers', () => {
  it('matches a service by name, port name or port number', () => {
    const a = sp({ key: 'ns/web:http', name: 'web', namespace: 'ns', portName: 'http', port: 80 });
    const b = sp({ key: 'ns/web:https', name: 'web', namespace: 'ns', portName: 'https', port: 443 });
    const state: ProxyState = { services: new Map([[a.key, a], [b.key, b]]), endpoints: new Map(), node: nodeInfo() };
    expect(matchingPorts(state, 'ns/web').map((p) => p.key)).toEqual(['ns/web:http', 'ns/web:https']);
    expect(matchingPorts(state, 'ns/web:https').map((p) => p.key)).toEqual(['ns/web:https']);
    expect(matchingPorts(state, 'ns/web:80').map((p) => p.key)).toEqual(['ns/web:http']);
    expect(matchingPorts(state, 'other/web')).toEqual([]);
  });

  it('parses destinations and rejects bad ones naming the flag', () => {
    expect(parseDestination('198.19.0.10:80/udp')).toEqual({ ip: '198.19.0.10', port: 80, protocol: 'udp' });
    expect(parseDestination('[2001:db8::10]:443')).toEqual({ ip: '2001:db8::10', port: 443, protocol: 'tcp' });
    expect(() => parseDestination('198.19.0.10')).toThrow(/--dst/);
    expect(() => parseDestination('198.19.0.10:70000/tcp')).toThrow(/--dst/);
  });

  it('parses subcommand flags and refuses unknown ones', () => {
    expect(parseSubcommandArgs(['x/y', '--output=json', '--metrics-address', '1.2.3.4:1'], ['output', 'metrics-address'])).toEqual({
      opts: new Map([['output', 'json'], ['metrics-address', '1.2.3.4:1']]),
      positional: ['x/y'],
    });
    expect(() => parseSubcommandArgs(['--bogus=1'], ['output'])).toThrow(/unknown flag: --bogus/);
  });

  it('formats a trace and an explanation for humans', () => {
    const text = formatTrace('198.18.1.100', { ip: '198.19.0.10', port: 80, protocol: 'tcp' }, {
      chainPath: ['nat/PREROUTING', 'nat/KUBE-SERVICES'],
      destinations: [{ ip: '198.18.1.11', port: 8080, probability: 0.5 }, { ip: '198.18.2.11', port: 8080, probability: 0.5 }],
      verdict: 'DNAT',
      masquerade: false,
    });
    expect(text).toContain('nat/PREROUTING -> nat/KUBE-SERVICES');
    expect(text).toContain('198.18.2.11:8080  50.0%');
    expect(formatExplain({ query: 'a/b', error: 'no service port matches a/b' })).toBe('a/b: no service port matches a/b\n');
  });
});
