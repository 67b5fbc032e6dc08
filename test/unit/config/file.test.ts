import { describe, expect, it } from 'vitest';
import { kubeProxyConfigurationYAML, toKubeProxyConfiguration } from '../../../proxy/config/configz.js';
import { parseConfigFile } from '../../../proxy/config/file.js';
import { ConfigError, defaultConfig, loadConfig } from '../../../proxy/config/load.js';

const HEAD = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

const FULL = `${HEAD}
mode: ipvs
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 50
hostnameOverride: node-1
bindAddress: 10.0.0.5
healthzBindAddress: 10.0.0.5:10256
metricsBindAddress: 0.0.0.0:10249
clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
detectLocalMode: BridgeInterface
detectLocal:
  bridgeInterface: cni0
  interfaceNamePrefix: veth
nodePortAddresses: [10.0.0.0/24]
oomScoreAdj: -500
configSyncPeriod: 10m
featureGates:
  TopologyAwareHints: true
iptables:
  masqueradeBit: 15
  masqueradeAll: true
  localhostNodePorts: false
  syncPeriod: 1m
  minSyncPeriod: 2s
ipvs:
  syncPeriod: 45s
  minSyncPeriod: 1s
  scheduler: lc
  excludeCIDRs: [10.1.0.0/16]
  strictARP: true
  tcpTimeout: 15m
  tcpFinTimeout: 30s
  udpTimeout: 5s
conntrack:
  maxPerCore: 0
  min: 1000
  tcpEstablishedTimeout: 12h
  tcpCloseWaitTimeout: 30m
  tcpBeLiberal: true
  udpTimeout: 30s
  udpStreamTimeout: 2m
logging:
  format: json
  verbosity: 3
`;

const expectedFull = {
  mode: 'ipvs',
  kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf',
  hostnameOverride: 'node-1',
  bindAddress: '10.0.0.5',
  healthzBindAddress: '10.0.0.5:10256',
  metricsBindAddress: '0.0.0.0:10249',
  clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
  detectLocalMode: 'BridgeInterface',
  detectLocal: { bridgeInterface: 'cni0', interfaceNamePrefix: 'veth' },
  nodePortAddresses: ['10.0.0.0/24'],
  oomScoreAdj: -500,
  configSyncPeriodMs: 600_000,
  featureGates: { TopologyAwareHints: true },
  iptables: { masqueradeBit: 15, masqueradeAll: true, localhostNodePorts: false, syncPeriodMs: 60_000, minSyncPeriodMs: 2000 },
  ipvs: {
    syncPeriodMs: 45_000,
    minSyncPeriodMs: 1000,
    scheduler: 'lc',
    excludeCIDRs: ['10.1.0.0/16'],
    strictARP: true,
    tcpTimeoutMs: 900_000,
    tcpFinTimeoutMs: 30_000,
    udpTimeoutMs: 5000,
  },
  conntrack: {
    maxPerCore: 0,
    min: 1000,
    tcpEstablishedTimeoutMs: 43_200_000,
    tcpCloseWaitTimeoutMs: 1_800_000,
    tcpBeLiberal: true,
    udpTimeoutMs: 30_000,
    udpStreamTimeoutMs: 120_000,
  },
  logging: { format: 'json', verbosity: 3 },
};

const errorOf = (text: string): string => {
  try {
    parseConfigFile(text, 'kp.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the file to be rejected');
};

describe('config file', () => {
  it('maps every field', () => {
    const { config, warnings } = parseConfigFile(FULL);
    expect(config).toMatchObject(expectedFull);
    expect(warnings).toEqual([]);
  });

  it('reads JSON too', () => {
    const json = JSON.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      iptables: { syncPeriod: '10s' },
      nodePortAddresses: ['primary'],
    });
    const { config } = parseConfigFile(json);
    expect(config.iptables.syncPeriodMs).toBe(10_000);
    expect(config.nodePortAddresses).toEqual(['primary']);
  });

  it('keeps defaults for omitted and null fields, and maps "" to the defaults', () => {
    const { config, warnings } = parseConfigFile(`${HEAD}mode: ""\nnodePortAddresses: null\nipvs:\n  excludeCIDRs: null\n  scheduler: ""\ndetectLocalMode: ""\n`);
    expect(config).toEqual(defaultConfig());
    expect(warnings).toEqual([]);
  });

  it('rejects a wrong apiVersion or kind', () => {
    expect(errorOf('apiVersion: v1\nkind: KubeProxyConfiguration\n')).toContain('unsupported apiVersion "v1", expected "kubeproxy.config.k8s.io/v1alpha1"');
    expect(errorOf('apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n')).toContain('unsupported kind "KubeletConfiguration"');
    expect(errorOf('kind: KubeProxyConfiguration\n')).toContain('unsupported apiVersion ""');
    expect(errorOf('- a\n- b\n')).toContain('must contain a KubeProxyConfiguration');
    expect(errorOf(`${HEAD}mode: [unclosed\n`)).toContain('failed to parse config file kp.yaml');
  });

  it('rejects wrong field types, naming the field', () => {
    expect(errorOf(`${HEAD}iptables:\n  syncPeriod: 30\n`)).toContain('field "iptables.syncPeriod": expected a duration like 30s');
    expect(errorOf(`${HEAD}iptables:\n  syncPeriod: fast\n`)).toContain('invalid value "fast" for field "iptables.syncPeriod"');
    expect(errorOf(`${HEAD}iptables:\n  masqueradeBit: 40\n`)).toContain('field "iptables.masqueradeBit": expected an integer between 0 and 31');
    expect(errorOf(`${HEAD}iptables:\n  masqueradeAll: "yes"\n`)).toContain('field "iptables.masqueradeAll": expected a boolean');
    expect(errorOf(`${HEAD}oomScoreAdj: "-999"\n`)).toContain('field "oomScoreAdj"');
    expect(errorOf(`${HEAD}mode: fastest\n`)).toContain('field "mode": expected one of iptables, ipvs, nftables, userspace, noop');
    expect(errorOf(`${HEAD}nodePortAddresses: 5\n`)).toContain('field "nodePortAddresses"');
    expect(errorOf(`${HEAD}featureGates:\n  Foo: "on"\n`)).toContain('field "featureGates"');
    expect(errorOf(`${HEAD}conntrack: 5\n`)).toContain('field "conntrack" must be an object');
  });

  it('warns about unknown fields and feature gates but loads', () => {
    const { config, warnings } = parseConfigFile(`${HEAD}mode: ipvs\nfancy: 1\nipvs:\n  turbo: true\nfeatureGates:\n  NotAGate: true\n`, 'kp.yaml');
    expect(config.mode).toBe('ipvs');
    expect(warnings).toEqual([
      'config file kp.yaml: unknown field "fancy" ignored',
      'config file kp.yaml: unknown field "ipvs.turbo" ignored',
      'unrecognized feature gate "NotAGate" in featureGates: ignored',
    ]);
  });

  it('accepts an upstream default configuration without warnings', () => {
    // Shaped like upstream's roundtrip default v1alpha1 YAML, including fields we ignore.
    const upstream = `${HEAD}bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 10
  contentType: application/vnd.kubernetes.protobuf
  kubeconfig: ""
  qps: 5
clusterCIDR: ""
configSyncPeriod: 15m0s
conntrack:
  maxPerCore: 32768
  min: 131072
  tcpCloseWaitTimeout: 1h0m0s
  tcpEstablishedTimeout: 24h0m0s
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: 0.0.0.0:10256
hostnameOverride: ""
iptables:
  localhostNodePorts: true
  masqueradeAll: false
  masqueradeBit: 14
  minSyncPeriod: 1s
  syncPeriod: 30s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 30s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: 127.0.0.1:10249
mode: ""
nftables:
  masqueradeAll: false
  masqueradeBit: 14
  minSyncPeriod: 1s
  syncPeriod: 30s
nodePortAddresses: null
oomScoreAdj: -999
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  networkName: ""
  sourceVip: ""
`;
    const { config, warnings } = parseConfigFile(upstream);
    expect(config).toEqual(defaultConfig());
    expect(warnings).toEqual([]);
  });
});

describe('loadConfig with --config', () => {
  const files: Record<string, string> = { '/etc/kp.yaml': FULL };
  const readFile = (p: string): string => {
    const text = files[p];
    if (text === undefined) throw new Error(`ENOENT: no such file ${p}`);
    return text;
  };

  it('applies the file over defaults and explicit flags over the file', () => {
    const fileOnly = loadConfig(['--config=/etc/kp.yaml'], readFile).config;
    expect(fileOnly).toMatchObject(expectedFull);
    // Flags win regardless of their position relative to --config.
    const both = loadConfig(['--mode=iptables', '--config', '/etc/kp.yaml', '--iptables-sync-period=5s', '-v=7'], readFile).config;
    expect(both.mode).toBe('iptables');
    expect(both.iptables.syncPeriodMs).toBe(5000);
    expect(both.logging.verbosity).toBe(7);
    // Fields no flag touched still come from the file, not the defaults.
    expect(both.iptables.masqueradeBit).toBe(15);
    expect(both.ipvs.scheduler).toBe('lc');
  });

  it('merges feature gates from the file and flags', () => {
    const c = loadConfig(['--config=/etc/kp.yaml', '--feature-gates=AllAlpha=false,TopologyAwareHints=false'], readFile).config;
    expect(c.featureGates).toEqual({ TopologyAwareHints: false, AllAlpha: false });
  });

  it('reports unreadable files and validates the merged result', () => {
    expect(() => loadConfig(['--config=/missing.yaml'], readFile)).toThrow(/failed to read --config file \/missing.yaml: ENOENT/);
    files['/etc/bad.yaml'] = `${HEAD}iptables:\n  syncPeriod: 1s\n  minSyncPeriod: 5s\n`;
    expect(() => loadConfig(['--config=/etc/bad.yaml'], readFile)).toThrow(/iptables.syncPeriod/);
    expect(loadConfig(['--config=/etc/bad.yaml', '--iptables-min-sync-period=1s'], readFile).config.iptables.minSyncPeriodMs).toBe(1000);
  });

  it('does not read the file for --help or --version', () => {
    expect(loadConfig(['--config=/missing.yaml', '--help'], readFile).action).toBe('help');
    expect(loadConfig(['--config=/missing.yaml', '--version'], readFile).action).toBe('version');
  });
});

describe('toKubeProxyConfiguration', () => {
  it('renders defaults like upstream, with Go duration strings', () => {
    const out = toKubeProxyConfiguration(defaultConfig());
    expect(out).toMatchObject({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      configSyncPeriod: '15m0s',
      clusterCIDR: '',
      nodePortAddresses: null,
      healthzBindAddress: '0.0.0.0:10256',
      metricsBindAddress: '127.0.0.1:10249',
      oomScoreAdj: -999,
      iptables: { masqueradeBit: 14, syncPeriod: '30s', minSyncPeriod: '1s', localhostNodePorts: true, masqueradeAll: false },
      ipvs: { syncPeriod: '30s', minSyncPeriod: '0s', scheduler: 'rr', excludeCIDRs: null },
      conntrack: { maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: '24h0m0s', tcpCloseWaitTimeout: '1h0m0s', udpTimeout: '0s' },
      logging: { format: 'text', verbosity: 0 },
    });
    expect(out).not.toHaveProperty('useEndpoints');
  });

  it('round-trips through the YAML file reader', () => {
    const original = loadConfig(['--config=/x', '--use-endpoints', '--iptables-min-sync-period=1500ms'], () => FULL).config;
    const yaml = kubeProxyConfigurationYAML(original);
    expect(yaml).toContain('minSyncPeriod: 1.5s');
    const { config, warnings } = parseConfigFile(yaml);
    expect(warnings).toEqual([]);
    // master and cleanup are command-line only, as upstream.
    expect(config).toEqual({ ...original, master: '', cleanup: false });
  });
});
