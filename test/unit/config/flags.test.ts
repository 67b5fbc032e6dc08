import { describe, expect, it } from 'vitest';
import { defaultConfig as mutableDefaults } from '../../../proxy/config/defaults.js';
import { FLAGS, helpText, newFlagState, parseFlags } from '../../../proxy/config/flags.js';
import { ConfigError, defaultConfig, loadConfig, syncPeriods } from '../../../proxy/config/load.js';

const run = (...argv: string[]) => loadConfig(argv, () => {
  throw new Error('no file expected');
});
const errorOf = (...argv: string[]): string => {
  try {
    run(...argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
};

describe('defaults', () => {
  it('match upstream kube-proxy', () => {
    // Written out by hand from upstream's defaults.go / options.go, not derived from our code.
    expect(run().config).toEqual({
      mode: 'iptables',
      kubeconfig: '',
      master: '',
      hostnameOverride: '',
      bindAddress: '0.0.0.0',
      healthzBindAddress: '0.0.0.0:10256',
      metricsBindAddress: '127.0.0.1:10249',
      clusterCIDRs: [],
      detectLocalMode: 'ClusterCIDR',
      detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
      nodePortAddresses: [],
      oomScoreAdj: -999,
      configSyncPeriodMs: 900_000,
      featureGates: {},
      useEndpoints: false,
      iptables: { masqueradeBit: 14, masqueradeAll: false, localhostNodePorts: true, syncPeriodMs: 30_000, minSyncPeriodMs: 1000 },
      nftables: { masqueradeBit: 14, masqueradeAll: false, syncPeriodMs: 30_000, minSyncPeriodMs: 1000 },
      ipvs: {
        syncPeriodMs: 30_000,
        minSyncPeriodMs: 0,
        scheduler: 'rr',
        excludeCIDRs: [],
        strictARP: false,
        tcpTimeoutMs: 0,
        tcpFinTimeoutMs: 0,
        udpTimeoutMs: 0,
        // Ours; upstream's IPVS proxier waits a fixed minute.
        gracefulTerminationPeriodMs: 60_000,
      },
      conntrack: {
        maxPerCore: 32768,
        min: 131072,
        tcpEstablishedTimeoutMs: 86_400_000,
        tcpCloseWaitTimeoutMs: 3_600_000,
        tcpBeLiberal: false,
        udpTimeoutMs: 0,
        udpStreamTimeoutMs: 0,
      },
      cleanup: false,
      logging: { format: 'text', verbosity: 0 },
    });
    expect(run().action).toBe('run');
    expect(defaultConfig()).toEqual(run().config);
  });

  it('every flag default written in the table reproduces defaultConfig()', () => {
    for (const def of FLAGS) {
      const state = newFlagState(mutableDefaults());
      const bound = def.bind(def.defaultText);
      expect(bound.ok, `--${def.name} default ${def.defaultText}`).toBe(true);
      if (bound.ok) bound.effect(state);
      expect(state.draft, `--${def.name}`).toEqual(mutableDefaults());
    }
  });

  it('returns a frozen config', () => {
    const { config } = run('--cluster-cidr=10.0.0.0/8');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.iptables)).toBe(true);
    expect(Object.isFrozen(config.clusterCIDRs)).toBe(true);
  });
});

describe('flag syntax', () => {
  it('accepts --flag=value and --flag value', () => {
    expect(run('--kubeconfig=/a').config.kubeconfig).toBe('/a');
    expect(run('--kubeconfig', '/b').config.kubeconfig).toBe('/b');
    // pflag takes the next argument even when it looks like a flag.
    expect(run('--hostname-override', '--x').config.hostnameOverride).toBe('--x');
  });

  it('handles booleans as pflag does', () => {
    expect(run('--masquerade-all').config.iptables.masqueradeAll).toBe(true);
    expect(run('--masquerade-all=true').config.iptables.masqueradeAll).toBe(true);
    expect(run('--masquerade-all=True').config.iptables.masqueradeAll).toBe(true);
    expect(run('--masquerade-all=1').config.iptables.masqueradeAll).toBe(true);
    expect(run('--iptables-localhost-nodeports=false').config.iptables.localhostNodePorts).toBe(false);
    expect(run('--iptables-localhost-nodeports=0').config.iptables.localhostNodePorts).toBe(false);
    // A bare boolean never consumes the next argument.
    expect(errorOf('--masquerade-all', 'false')).toContain('unexpected argument "false"');
    expect(errorOf('--masquerade-all=maybe')).toBe('invalid value "maybe" for flag --masquerade-all: expected true or false');
  });

  it('accepts -v=2, -v 2, -v2 and --v=2', () => {
    for (const argv of [['-v=2'], ['-v', '2'], ['-v2'], ['--v=2'], ['--v', '2']]) {
      expect(run(...argv).config.logging.verbosity, argv.join(' ')).toBe(2);
    }
    expect(errorOf('-v=loud')).toContain('flag -v: expected an integer');
  });

  it('the last occurrence wins', () => {
    expect(run('--v=1', '--v=4').config.logging.verbosity).toBe(4);
  });

  it('treats --mode and --proxy-mode as synonyms, and "" as iptables', () => {
    expect(run('--mode=ipvs').config.mode).toBe('ipvs');
    expect(run('--proxy-mode', 'ipvs').config.mode).toBe('ipvs');
    expect(run('--proxy-mode=noop').config.mode).toBe('noop');
    expect(run('--proxy-mode=ipvs', '--mode=userspace').config.mode).toBe('userspace');
    expect(run('--proxy-mode=').config.mode).toBe('iptables');
    expect(run('--mode=nftables').config.mode).toBe('nftables');
    expect(errorOf('--mode=ebpf')).toBe('invalid value "ebpf" for flag --mode: expected one of iptables, ipvs, nftables, userspace, noop');
  });

  it('rejects unknown flags, missing values and positional arguments, naming them', () => {
    expect(errorOf('--no-such-flag=1')).toContain('unknown flag: --no-such-flag');
    expect(errorOf('-kubeconfig=/x')).toContain("unknown shorthand flag: 'k'");
    expect(errorOf('--kubeconfig')).toBe('flag needs an argument: --kubeconfig');
    expect(errorOf('stray')).toContain('unexpected argument "stray"');
    expect(errorOf('--', 'stray')).toContain('unexpected argument "stray"');
  });
});

describe('value kinds', () => {
  it('parses durations', () => {
    const c = run('--iptables-sync-period=1m', '--iptables-min-sync-period=250ms', '--config-sync-period', '1h30m').config;
    expect(c.iptables.syncPeriodMs).toBe(60_000);
    expect(c.iptables.minSyncPeriodMs).toBe(250);
    expect(c.configSyncPeriodMs).toBe(5_400_000);
    expect(run('--conntrack-tcp-timeout-established=0').config.conntrack.tcpEstablishedTimeoutMs).toBe(0);
    expect(errorOf('--iptables-sync-period=fast')).toBe(
      'invalid value "fast" for flag --iptables-sync-period: expected a duration like 30s',
    );
    expect(errorOf('--iptables-sync-period=0s')).toContain('flag --iptables-sync-period: expected a duration greater than 0s');
    expect(errorOf('--ipvs-udp-timeout=-1s')).toContain('flag --ipvs-udp-timeout: expected a non-negative duration');
  });

  it('checks integer ranges', () => {
    expect(run('--iptables-masquerade-bit=0').config.iptables.masqueradeBit).toBe(0);
    expect(run('--iptables-masquerade-bit=31').config.iptables.masqueradeBit).toBe(31);
    expect(errorOf('--iptables-masquerade-bit=32')).toBe(
      'invalid value "32" for flag --iptables-masquerade-bit: expected an integer between 0 and 31',
    );
    expect(run('--oom-score-adj=-1000').config.oomScoreAdj).toBe(-1000);
    expect(errorOf('--oom-score-adj=1001')).toContain('flag --oom-score-adj: expected an integer between -1000 and 1000');
    expect(run('--conntrack-max-per-core=0', '--conntrack-min=5').config.conntrack).toMatchObject({ maxPerCore: 0, min: 5 });
    expect(errorOf('--conntrack-min=1.5')).toContain('flag --conntrack-min');
  });

  it('parses CIDR lists', () => {
    expect(run('--cluster-cidr=10.244.0.0/16,fd00:10:244::/56').config.clusterCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
    expect(run('--cluster-cidr=10.244.0.0/16').config.clusterCIDRs).toEqual(['10.244.0.0/16']);
    expect(errorOf('--cluster-cidr=10.0.0.0/8,11.0.0.0/8')).toContain('flag --cluster-cidr: expected a CIDR or a comma-separated dual-stack pair');
    expect(errorOf('--cluster-cidr=10.0.0.0')).toContain('flag --cluster-cidr');
    expect(run('--ipvs-exclude-cidrs=10.1.0.0/16, 10.2.0.0/16').config.ipvs.excludeCIDRs).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    expect(errorOf('--ipvs-exclude-cidrs=nope')).toContain('flag --ipvs-exclude-cidrs');
  });

  it('parses --nodeport-addresses as CIDRs or a keyword', () => {
    expect(run('--nodeport-addresses=192.168.0.0/16,::1/128').config.nodePortAddresses).toEqual(['192.168.0.0/16', '::1/128']);
    expect(run('--nodeport-addresses=primary').config.nodePortAddresses).toEqual(['primary']);
    expect(run('--nodeport-addresses=all').config.nodePortAddresses).toEqual(['all']);
    expect(errorOf('--nodeport-addresses=primary,10.0.0.0/8')).toContain('flag --nodeport-addresses');
    expect(errorOf('--nodeport-addresses=eth0')).toContain('flag --nodeport-addresses');
  });

  it('parses addresses', () => {
    expect(run('--bind-address=10.0.0.5').config.bindAddress).toBe('10.0.0.5');
    expect(errorOf('--bind-address=node1')).toContain('flag --bind-address: expected an IP address');
    expect(run('--metrics-bind-address=0.0.0.0:9999').config.metricsBindAddress).toBe('0.0.0.0:9999');
    expect(run('--metrics-bind-address=').config.metricsBindAddress).toBe('');
    expect(run('--metrics-bind-address=0.0.0.0').config.metricsBindAddress).toBe('0.0.0.0:10249');
    expect(run('--healthz-bind-address=[::]:1234').config.healthzBindAddress).toBe('[::]:1234');
    expect(errorOf('--healthz-bind-address=0.0.0.0:99999')).toContain('flag --healthz-bind-address');
  });

  it('uses IPv6 server addresses when the bind address is IPv6, unless they were given', () => {
    const c = run('--bind-address=fd00::1').config;
    expect(c.healthzBindAddress).toBe('[::]:10256');
    expect(c.metricsBindAddress).toBe('[::1]:10249');
    expect(run('--bind-address=fd00::1', '--metrics-bind-address=[::]:10249').config.metricsBindAddress).toBe('[::]:10249');
  });

  it('combines deprecated --healthz-port/--metrics-port with the bind address host', () => {
    const r = run('--healthz-port=1234', '--metrics-port', '0');
    expect(r.config.healthzBindAddress).toBe('0.0.0.0:1234');
    expect(r.config.metricsBindAddress).toBe('');
    expect(r.warnings.some((w) => w.includes('--healthz-port is deprecated'))).toBe(true);
    expect(run('--metrics-bind-address=0.0.0.0:1', '--metrics-port=2').config.metricsBindAddress).toBe('0.0.0.0:2');
  });

  it('maps the remaining flags', () => {
    const c = run(
      '--master=https://api:6443',
      '--hostname-override=node-a',
      '--detect-local-mode=InterfaceNamePrefix',
      '--pod-interface-name-prefix=veth',
      '--pod-bridge-interface=cni0',
      '--ipvs-scheduler=wlc',
      '--ipvs-strict-arp',
      '--ipvs-tcp-timeout=15m',
      '--ipvs-tcpfin-timeout=30s',
      '--ipvs-sync-period=1m',
      '--ipvs-min-sync-period=5s',
      '--conntrack-tcp-be-liberal',
      '--conntrack-udp-timeout=30s',
      '--conntrack-udp-timeout-stream=2m',
      '--conntrack-tcp-timeout-close-wait=30m',
      '--use-endpoints',
      '--cleanup',
      '--logging-format=json',
    ).config;
    expect(c).toMatchObject({
      master: 'https://api:6443',
      hostnameOverride: 'node-a',
      detectLocalMode: 'InterfaceNamePrefix',
      detectLocal: { interfaceNamePrefix: 'veth', bridgeInterface: 'cni0' },
      useEndpoints: true,
      cleanup: true,
      logging: { format: 'json', verbosity: 0 },
      ipvs: { scheduler: 'wlc', strictARP: true, tcpTimeoutMs: 900_000, tcpFinTimeoutMs: 30_000, syncPeriodMs: 60_000, minSyncPeriodMs: 5000 },
      conntrack: { tcpBeLiberal: true, udpTimeoutMs: 30_000, udpStreamTimeoutMs: 120_000, tcpCloseWaitTimeoutMs: 1_800_000 },
    });
    expect(errorOf('--logging-format=xml')).toContain('flag --logging-format: expected one of text, json');
    expect(errorOf('--detect-local-mode=Magic')).toContain('flag --detect-local-mode');
  });
});

describe('feature gates', () => {
  it('accepts known gates silently and warns about unknown ones', () => {
    const r = run('--feature-gates=TopologyAwareHints=true,MadeUpGate=false');
    expect(r.config.featureGates).toEqual({ TopologyAwareHints: true, MadeUpGate: false });
    expect(r.warnings.filter((w) => w.includes('feature gate'))).toEqual([
      'unrecognized feature gate "MadeUpGate" in --feature-gates: ignored',
    ]);
    expect(run('--feature-gates=AllAlpha=false').warnings.some((w) => w.includes('feature gate'))).toBe(false);
  });

  it('rejects malformed gate lists', () => {
    expect(errorOf('--feature-gates=Foo')).toContain('flag --feature-gates: expected comma-separated key=true|false pairs');
    expect(errorOf('--feature-gates=Foo=yes')).toContain('flag --feature-gates');
  });
});

describe('upstream compatibility', () => {
  it("accepts a typical upstream DaemonSet's args", () => {
    const r = run(
      '--hostname-override=$(NODE_NAME)',
      '--kube-api-qps=20',
      '--kube-api-burst=40',
      '--kube-api-content-type=application/json',
      '--profiling=true',
      '--bind-address-hard-fail',
      '--show-hidden-metrics-for-version=1.28',
      '--v=2',
    );
    expect(r.action).toBe('run');
    expect(r.config.logging.verbosity).toBe(2);
    expect(errorOf('--kube-api-burst=lots')).toContain('flag --kube-api-burst');
  });

  it('reports --init-only', () => {
    expect(run('--init-only').initOnly).toBe(true);
    expect(run().initOnly).toBe(false);
  });
});

describe('validation', () => {
  it('requires sync period >= min sync period', () => {
    expect(errorOf('--iptables-sync-period=1s', '--iptables-min-sync-period=5s')).toContain('--iptables-sync-period (iptables.syncPeriod) 1s must be at least');
    expect(errorOf('--ipvs-sync-period=1s', '--ipvs-min-sync-period=2s')).toContain('--ipvs-sync-period');
  });

  it('requires the interface settings of the chosen detect-local mode', () => {
    expect(errorOf('--detect-local-mode=BridgeInterface')).toContain('requires --pod-bridge-interface');
    expect(run('--detect-local-mode=BridgeInterface', '--pod-bridge-interface=cbr0').config.detectLocalMode).toBe('BridgeInterface');
  });

  it('rejects unknown ipvs schedulers and warns when ClusterCIDR mode has no CIDR', () => {
    expect(errorOf('--ipvs-scheduler=fastest')).toContain('--ipvs-scheduler (ipvs.scheduler) "fastest"');
    expect(run('--ipvs-scheduler=').config.ipvs.scheduler).toBe('rr');
    expect(run().warnings.some((w) => w.includes('no --cluster-cidr'))).toBe(true);
    expect(run('--cluster-cidr=10.0.0.0/8').warnings.some((w) => w.includes('no --cluster-cidr'))).toBe(false);
  });
});

describe('actions', () => {
  it('--help returns help text listing every flag with its default', () => {
    for (const argv of [['--help'], ['-h'], ['--mode=ipvs', '--help']]) {
      const r = run(...argv);
      expect(r.action).toBe('help');
      for (const def of FLAGS) {
        // The line that starts with this flag (other lines may mention it in their help).
        const line = r.helpText?.split('\n').find((l) => l.startsWith(`--${def.name} `, l.indexOf('--')) && /^\s+(-\w, )?--/.test(l));
        expect(line, `--${def.name}`).toBeDefined();
        expect(line).toContain('(default ');
        expect(line).toContain(def.defaultText === '' ? '(default "")' : def.defaultText);
      }
    }
    expect(helpText()).toContain('(default 30s)');
    expect(helpText()).toContain('--proxy-mode string');
    expect(helpText()).toContain('Alias: --mode');
    expect(helpText()).toContain('-v, --v int32');
  });

  it('--version and --write-config-to', () => {
    expect(run('--version').action).toBe('version');
    const r = run('--write-config-to=/tmp/out.yaml', '--mode=ipvs');
    expect(r.action).toBe('write-config');
    expect(r.writeConfigTo).toBe('/tmp/out.yaml');
    expect(r.config.mode).toBe('ipvs');
  });

  it('parseFlags reports each occurrence with its spelling', () => {
    expect(parseFlags(['--mode=ipvs', '-v', '3']).map((g) => [g.def.name, g.spelled])).toEqual([
      ['proxy-mode', '--mode'],
      ['v', '-v'],
    ]);
  });
});

describe('syncPeriods', () => {
  it('uses the ipvs periods in ipvs mode and iptables periods otherwise', () => {
    const argv = ['--iptables-sync-period=10s', '--iptables-min-sync-period=2s', '--ipvs-sync-period=20s', '--ipvs-min-sync-period=3s'];
    expect(syncPeriods(run(...argv, '--mode=ipvs').config)).toEqual({ syncPeriodMs: 20_000, minSyncPeriodMs: 3000 });
    expect(syncPeriods(run(...argv).config)).toEqual({ syncPeriodMs: 10_000, minSyncPeriodMs: 2000 });
    expect(syncPeriods(run(...argv, '--mode=noop').config)).toEqual({ syncPeriodMs: 10_000, minSyncPeriodMs: 2000 });
  });
});
