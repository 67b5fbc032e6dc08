import { describe, expect, it } from 'vitest';
import { formatFieldErrors, servicePortsFromService } from '../../../proxy/model/service.js';
import type { V1Service } from '@kubernetes/client-node';
import { svc } from './fixtures.js';

describe('servicePortsFromService', () => {
  it('builds one ServicePort per port with defaults', () => {
    const r = servicePortsFromService(
      svc('web', { ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
    );
    expect(r.errors).toEqual([]);
    expect(r.skipped).toBeUndefined();
    expect(r.ports.map((p) => [p.key, p.protocol, p.port])).toEqual([
      ['default/web:http', 'TCP', 80],
      ['default/web:dns', 'UDP', 53],
    ]);
    const p = r.ports[0]!;
    expect(p.type).toBe('ClusterIP');
    expect(p.clusterIPs).toEqual(['198.19.0.10']);
    expect(p.sessionAffinity).toEqual({ type: 'None' });
    expect(p.externalTrafficPolicy).toBe('Cluster');
    expect(p.internalTrafficPolicy).toBe('Cluster');
    expect(p.nodePort).toBe(0);
  });

  it('keys an unnamed port as namespace/name:', () => {
    const r = servicePortsFromService(svc('a', { ns: 'kube-system', ports: [{ port: 443 }] }));
    expect(r.ports[0]?.key).toBe('kube-system/a:');
  });

  it('accepts dual-stack clusterIPs, primary first', () => {
    const r = servicePortsFromService(svc('ds', { clusterIPs: ['2001:db8::10', '198.19.0.10'] }));
    expect(r.errors).toEqual([]);
    expect(r.ports[0]?.clusterIPs).toEqual(['2001:db8::10', '198.19.0.10']);
  });

  it('drops a second cluster IP of the same family and keeps the first', () => {
    const r = servicePortsFromService(svc('ds', { clusterIPs: ['198.19.0.10', '198.19.0.11'] }));
    expect(r.ports.map((p) => p.clusterIPs)).toEqual([['198.19.0.10']]);
    expect(r.errors).toEqual([
      {
        field: 'spec.clusterIPs[1]',
        message: 'must be of a different IP family than spec.clusterIPs[0], got "198.19.0.11"; this cluster IP is ignored',
      },
    ]);
  });

  it('keeps the good family of a dual-stack Service whose other cluster IP is bad', () => {
    const r = servicePortsFromService(svc('ds', { clusterIPs: ['198.19.0.10', '2001:db8::zz'] }));
    expect(r.ports.map((p) => p.clusterIPs)).toEqual([['198.19.0.10']]);
    expect(r.errors.map((e) => e.field)).toEqual(['spec.clusterIPs[1]']);
  });

  it('does not proxy a Service whose clusterIP and clusterIPs[0] name different addresses', () => {
    const r = servicePortsFromService(svc('m', { clusterIP: '198.19.0.10', clusterIPs: ['198.19.0.11'] }));
    expect(r.ports).toEqual([]);
    expect(r.errors.map((e) => e.field)).toEqual(['spec.clusterIP']);
    // Two spellings of one address are the same address.
    const same = servicePortsFromService(svc('m', { clusterIP: '198.19.0.010', clusterIPs: ['198.19.0.10'] }));
    expect(same.errors).toEqual([]);
    expect(same.ports[0]?.clusterIPs).toEqual(['198.19.0.10']);
  });

  // Each bad field drops only itself (the message says what that means); only a Service without a
  // usable cluster IP loses its ports.
  type Check = (r: ReturnType<typeof servicePortsFromService>) => void;
  const keys = (r: ReturnType<typeof servicePortsFromService>): string[] => r.ports.map((p) => p.key);
  it.each<[string, V1Service, string, string, Check]>([
    ['bad cluster IP', svc('x', { clusterIP: '198.19.0.300' }), 'spec.clusterIP', 'must be a valid IP address, got "198.19.0.300"; the Service is not proxied', (r) => expect(r.ports).toEqual([])],
    ['port 0', svc('x', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 0 }] }), 'spec.ports[1].port', 'must be between 1 and 65535, got 0; this port is not proxied', (r) => expect(keys(r)).toEqual(['default/x:a'])],
    ['port too big', svc('x', { ports: [{ name: 'a', port: 70000 }, { name: 'b', port: 81 }] }), 'spec.ports[0].port', 'must be between 1 and 65535, got 70000; this port is not proxied', (r) => expect(keys(r)).toEqual(['default/x:b'])],
    ['unknown protocol', svc('x', { ports: [{ port: 80, protocol: 'ICMP' }] }), 'spec.ports[0].protocol', 'must be one of TCP, UDP, SCTP, got "ICMP"; this port is not proxied', (r) => expect(r.ports).toEqual([])],
    ['bad nodePort', svc('x', { type: 'NodePort', ports: [{ port: 80, nodePort: -1 }] }), 'spec.ports[0].nodePort', 'must be between 0 and 65535, got -1; this port gets no node port', (r) => expect(r.ports[0]).toMatchObject({ port: 80, nodePort: 0, clusterIPs: ['198.19.0.10'] })],
    ['bad external IP', svc('x', { spec: { externalIPs: ['198.19.1.1', 'nope'] } }), 'spec.externalIPs[1]', 'must be a valid IP address, got "nope"; this external IP is ignored', (r) => expect(r.ports[0]).toMatchObject({ clusterIPs: ['198.19.0.10'], externalIPs: ['198.19.1.1'] })],
    ['bad ingress IP', svc('x', { type: 'LoadBalancer', ingress: [{ ip: '1.2.3' }, { ip: '198.19.9.1' }] }), 'status.loadBalancer.ingress[0].ip', 'must be a valid IP address, got "1.2.3"; this load-balancer IP is ignored', (r) => expect(r.ports[0]?.loadBalancerIPs).toEqual(['198.19.9.1'])],
    ['affinity timeout 0', svc('x', { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } } }), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'must be between 1 and 86400, got 0; using the default 10800', (r) => expect(r.ports[0]?.sessionAffinity).toEqual({ type: 'ClientIP', timeoutSeconds: 10800 })],
    ['unknown affinity', svc('x', { spec: { sessionAffinity: 'Cookie' } }), 'spec.sessionAffinity', 'must be None or ClientIP, got "Cookie"; treated as None', (r) => expect(r.ports[0]?.sessionAffinity).toEqual({ type: 'None' })],
    ['bad policy', svc('x', { spec: { internalTrafficPolicy: 'Nearby' } }), 'spec.internalTrafficPolicy', 'must be Cluster or Local, got "Nearby"; treated as Cluster', (r) => expect(r.ports[0]?.internalTrafficPolicy).toBe('Cluster')],
    ['unknown type', svc('x', { type: 'Magic', ports: [{ port: 80, nodePort: 30080 }] }), 'spec.type', 'must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, got "Magic"; treated as ClusterIP', (r) => expect(r.ports[0]).toMatchObject({ type: 'ClusterIP', nodePort: 0 })],
    ['duplicate port names', svc('x', { ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'spec.ports[1].name', 'duplicate port name "a" (also spec.ports[0]); this port is not proxied', (r) => expect(r.ports.map((p) => [p.key, p.port])).toEqual([['default/x:a', 80]])],
    ['bad healthCheckNodePort', svc('x', { type: 'LoadBalancer', spec: { externalTrafficPolicy: 'Local', healthCheckNodePort: 99999 } }), 'spec.healthCheckNodePort', 'must be between 0 and 65535, got 99999; no health check is served', (r) => expect(r.ports[0]).toMatchObject({ externalTrafficPolicy: 'Local', healthCheckNodePort: 0 })],
  ])('reports %s with the field path and drops only that field', (_name, service, field, message, check) => {
    const r = servicePortsFromService(service);
    expect(r.errors).toContainEqual({ field, message });
    expect(formatFieldErrors(r.errors)).toContain(`${field}: ${message}`);
    check(r);
  });

  it('ignores a bad source range, and closes the load balancer rather than open it when none is valid', () => {
    const some = servicePortsFromService(
      svc('x', { type: 'LoadBalancer', ingress: [{ ip: '198.19.9.1' }], spec: { loadBalancerSourceRanges: ['10.0.0.0/33', '198.18.0.0/16'] } }),
    );
    expect(some.errors).toEqual([
      { field: 'spec.loadBalancerSourceRanges[0]', message: 'must be a valid CIDR, got "10.0.0.0/33"; this range is ignored' },
    ]);
    expect(some.ports[0]).toMatchObject({ loadBalancerIPs: ['198.19.9.1'], loadBalancerSourceRanges: ['198.18.0.0/16'] });

    const none = servicePortsFromService(
      svc('x', { type: 'LoadBalancer', ingress: [{ ip: '198.19.9.1' }], spec: { loadBalancerSourceRanges: ['10.0.0.0/33'] } }),
    );
    expect(none.errors.map((e) => e.field)).toEqual(['spec.loadBalancerSourceRanges[0]', 'spec.loadBalancerSourceRanges']);
    expect(none.errors[1]?.message).toContain('the load-balancer IPs are not programmed');
    // The ClusterIP (and NodePort) still work; only the load-balancer VIP is withheld.
    expect(none.ports[0]).toMatchObject({ clusterIPs: ['198.19.0.10'], loadBalancerIPs: [], loadBalancerSourceRanges: [] });
  });

  it('skips headless, ExternalName and IP-less Services without errors', () => {
    expect(servicePortsFromService(svc('h', { clusterIP: 'None' }))).toEqual({ ports: [], errors: [], skipped: 'headless' });
    expect(servicePortsFromService(svc('h', { clusterIPs: ['None'] })).skipped).toBe('headless');
    expect(servicePortsFromService(svc('e', { type: 'ExternalName', spec: { externalName: 'example.org' } })).skipped).toBe(
      'ExternalName',
    );
    const noIP = svc('n');
    noIP.spec!.clusterIP = '';
    expect(servicePortsFromService(noIP)).toEqual({ ports: [], errors: [], skipped: 'no-cluster-ip' });
  });

  it('normalizes LoadBalancer fields', () => {
    const r = servicePortsFromService(
      svc('lb', {
        type: 'LoadBalancer',
        ports: [{ port: 80, nodePort: 30080 }],
        ingress: [{ ip: '198.19.9.1' }, { hostname: 'lb.example.org' }, { ip: '198.19.9.2', ipMode: 'Proxy' }],
        spec: {
          loadBalancerSourceRanges: [' 198.18.0.0/16 ', '2001:db8::/32', '198.18.7.7'],
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 31000,
          sessionAffinity: 'ClientIP',
        },
      }),
    );
    expect(r.errors).toEqual([]);
    const p = r.ports[0]!;
    expect(p.loadBalancerIPs).toEqual(['198.19.9.1']);
    expect(p.loadBalancerSourceRanges).toEqual(['198.18.0.0/16', '2001:db8::/32', '198.18.7.7/32']);
    expect(p.nodePort).toBe(30080);
    expect(p.externalTrafficPolicy).toBe('Local');
    expect(p.healthCheckNodePort).toBe(31000);
    expect(p.sessionAffinity).toEqual({ type: 'ClientIP', timeoutSeconds: 10800 });
  });

  it('reads IPs and CIDRs as the apiserver does (leading zeros are decimal) and stores them canonical', () => {
    const r = servicePortsFromService(
      svc('z', {
        type: 'LoadBalancer',
        clusterIPs: ['10.96.201.077', '2001:DB8:0:0::0010'],
        ports: [{ port: 80, nodePort: 30080 }],
        ingress: [{ ip: '198.019.009.001' }, { ip: '::FFFF:198.19.9.1' }],
        spec: {
          clusterIP: '10.96.201.77',
          // 051 is fifty-one (iptables would read forty-one); "018" is eighteen (iptables refuses it).
          externalIPs: ['192.0.2.051', '198.018.0.11', '192.0.2.51', '2001:db8:0:1:0:0:0:1'],
          loadBalancerSourceRanges: ['198.018.0.0/016', '2001:DB8:0::/32', '198.18.7.7/24'],
        },
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.ports[0]).toMatchObject({
      clusterIPs: ['10.96.201.77', '2001:db8::10'],
      externalIPs: ['192.0.2.51', '198.18.0.11', '2001:db8:0:1::1'],
      loadBalancerIPs: ['198.19.9.1'],
      loadBalancerSourceRanges: ['198.18.0.0/16', '2001:db8::/32', '198.18.7.0/24'],
    });
  });

  it('rejects what cannot be rendered even by the apiserver\'s rules: octets over 255, zones, hex octets', () => {
    const r = servicePortsFromService(
      svc('z', { spec: { externalIPs: ['192.0.2.256', 'fe80::1%eth0', '0x7f.0.0.1', '1.2.3', '192.0.2.1'] } }),
    );
    expect(r.errors.map((e) => e.field)).toEqual(['spec.externalIPs[0]', 'spec.externalIPs[1]', 'spec.externalIPs[2]', 'spec.externalIPs[3]']);
    expect(r.ports[0]?.externalIPs).toEqual(['192.0.2.1']);
  });

  it('honours the legacy source-ranges annotation when the field is empty', () => {
    const s = svc('lb', { type: 'LoadBalancer' });
    s.metadata!.annotations = { 'service.beta.kubernetes.io/load-balancer-source-ranges': '198.18.0.0/24, 198.18.1.0/24' };
    expect(servicePortsFromService(s).ports[0]?.loadBalancerSourceRanges).toEqual(['198.18.0.0/24', '198.18.1.0/24']);
  });

  it('clears external-only fields on ClusterIP Services', () => {
    const r = servicePortsFromService(
      svc('c', { ports: [{ port: 80, nodePort: 30001 }], spec: { externalTrafficPolicy: 'Local', healthCheckNodePort: 31000 } }),
    );
    expect(r.ports[0]).toMatchObject({ nodePort: 0, externalTrafficPolicy: 'Cluster', healthCheckNodePort: 0 });
  });

  it('keeps an explicit affinity timeout', () => {
    const r = servicePortsFromService(
      svc('a', { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } }),
    );
    expect(r.ports[0]?.sessionAffinity).toEqual({ type: 'ClientIP', timeoutSeconds: 60 });
  });
});
