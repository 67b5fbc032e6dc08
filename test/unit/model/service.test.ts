import { describe, expect, it } from 'vitest';
import { formatFieldErrors, servicePortsFromService } from '../../../proxy/model/service.js';
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

  it('rejects two cluster IPs of the same family', () => {
    const r = servicePortsFromService(svc('ds', { clusterIPs: ['198.19.0.10', '198.19.0.11'] }));
    expect(r.ports).toEqual([]);
    expect(r.errors.map((e) => e.field)).toEqual(['spec.clusterIPs[1]']);
  });

  it.each([
    ['bad cluster IP', svc('x', { clusterIP: '198.19.0.300' }), 'spec.clusterIP', 'must be a valid IP address, got "198.19.0.300"'],
    ['port 0', svc('x', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 0 }] }), 'spec.ports[1].port', 'must be between 1 and 65535, got 0'],
    ['port too big', svc('x', { ports: [{ port: 70000 }] }), 'spec.ports[0].port', 'must be between 1 and 65535, got 70000'],
    ['unknown protocol', svc('x', { ports: [{ port: 80, protocol: 'ICMP' }] }), 'spec.ports[0].protocol', 'must be one of TCP, UDP, SCTP, got "ICMP"'],
    ['bad nodePort', svc('x', { type: 'NodePort', ports: [{ port: 80, nodePort: -1 }] }), 'spec.ports[0].nodePort', 'must be between 0 and 65535, got -1'],
    ['bad external IP', svc('x', { spec: { externalIPs: ['198.19.1.1', 'nope'] } }), 'spec.externalIPs[1]', 'must be a valid IP address, got "nope"'],
    ['bad source range', svc('x', { type: 'LoadBalancer', spec: { loadBalancerSourceRanges: ['10.0.0.0/33'] } }), 'spec.loadBalancerSourceRanges[0]', 'must be a valid CIDR, got "10.0.0.0/33"'],
    ['bad ingress IP', svc('x', { type: 'LoadBalancer', ingress: [{ ip: '1.2.3' }] }), 'status.loadBalancer.ingress[0].ip', 'must be a valid IP address, got "1.2.3"'],
    ['affinity timeout 0', svc('x', { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } } }), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'must be between 1 and 86400, got 0'],
    ['unknown affinity', svc('x', { spec: { sessionAffinity: 'Cookie' } }), 'spec.sessionAffinity', 'must be None or ClientIP, got "Cookie"'],
    ['bad policy', svc('x', { spec: { internalTrafficPolicy: 'Nearby' } }), 'spec.internalTrafficPolicy', 'must be Cluster or Local, got "Nearby"'],
    ['unknown type', svc('x', { type: 'Magic' }), 'spec.type', 'must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, got "Magic"'],
    ['duplicate port names', svc('x', { ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'spec.ports[1].name', 'duplicate port name "a" (also spec.ports[0])'],
    ['bad healthCheckNodePort', svc('x', { type: 'LoadBalancer', spec: { healthCheckNodePort: 99999 } }), 'spec.healthCheckNodePort', 'must be between 0 and 65535, got 99999'],
  ])('rejects %s with the field path', (_name, service, field, message) => {
    const r = servicePortsFromService(service);
    expect(r.ports).toEqual([]);
    expect(r.errors).toContainEqual({ field, message });
    expect(formatFieldErrors(r.errors)).toContain(`${field}: ${message}`);
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
