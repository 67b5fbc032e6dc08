import { describe, expect, it } from 'vitest';
import {
  JUMP_RULES,
  missingJumpRules,
  renderPortalsCleanup,
  renderPortalsPayload,
  sanitizeComment,
  type Portal,
} from '../../../modes/userspace/portals.js';

const web: Portal = {
  key: 'default/web:http',
  protocol: 'TCP',
  listenerPort: 40001,
  port: 80,
  clusterIPs: ['198.19.0.10'],
  externalIPs: ['203.0.113.7'],
  loadBalancerIPs: [],
  nodePort: 30080,
};
const dns: Portal = {
  key: 'kube-system/dns:dns',
  protocol: 'UDP',
  listenerPort: 40002,
  port: 53,
  clusterIPs: ['10.96.0.53'],
  externalIPs: [],
  loadBalancerIPs: ['198.51.100.9'],
  nodePort: 0,
};

describe('renderPortalsPayload', () => {
  it('renders REDIRECT for container chains and loopback DNAT for host chains (wildcard listener)', () => {
    const payload = renderPortalsPayload([web, dns], { family: 'IPv4' }, JUMP_RULES);
    expect(payload).toBe(
      [
        '*nat',
        ':KUBE-PORTALS-CONTAINER - [0:0]',
        ':KUBE-PORTALS-HOST - [0:0]',
        ':KUBE-NODEPORT-CONTAINER - [0:0]',
        ':KUBE-NODEPORT-HOST - [0:0]',
        '-A KUBE-PORTALS-CONTAINER -d 198.19.0.10/32 -p tcp -m comment --comment "default/web:http" -m tcp --dport 80 -j REDIRECT --to-ports 40001',
        '-A KUBE-PORTALS-HOST -d 198.19.0.10/32 -p tcp -m comment --comment "default/web:http" -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:40001',
        '-A KUBE-PORTALS-CONTAINER -d 203.0.113.7/32 -p tcp -m comment --comment "default/web:http" -m tcp --dport 80 -j REDIRECT --to-ports 40001',
        '-A KUBE-PORTALS-HOST -d 203.0.113.7/32 -p tcp -m comment --comment "default/web:http" -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:40001',
        '-A KUBE-NODEPORT-CONTAINER -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j REDIRECT --to-ports 40001',
        '-A KUBE-NODEPORT-HOST -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j DNAT --to-destination 127.0.0.1:40001',
        '-A KUBE-PORTALS-CONTAINER -d 10.96.0.53/32 -p udp -m comment --comment "kube-system/dns:dns" -m udp --dport 53 -j REDIRECT --to-ports 40002',
        '-A KUBE-PORTALS-HOST -d 10.96.0.53/32 -p udp -m comment --comment "kube-system/dns:dns" -m udp --dport 53 -j DNAT --to-destination 127.0.0.1:40002',
        '-A KUBE-PORTALS-CONTAINER -d 198.51.100.9/32 -p udp -m comment --comment "kube-system/dns:dns" -m udp --dport 53 -j REDIRECT --to-ports 40002',
        '-A KUBE-PORTALS-HOST -d 198.51.100.9/32 -p udp -m comment --comment "kube-system/dns:dns" -m udp --dport 53 -j DNAT --to-destination 127.0.0.1:40002',
        '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
        '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
        '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER',
        '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('DNATs to a specific listen address in both chains, IPv6 with /128 and brackets', () => {
    const v6: Portal = { ...web, clusterIPs: ['fd00::10'], externalIPs: [], nodePort: 0 };
    const payload = renderPortalsPayload([v6], { family: 'IPv6', listenAddress: 'fd00::1' }, []);
    expect(payload.split('\n').filter((l) => l.startsWith('-A'))).toEqual([
      '-A KUBE-PORTALS-CONTAINER -d fd00::10/128 -p tcp -m comment --comment "default/web:http" -m tcp --dport 80 -j DNAT --to-destination [fd00::1]:40001',
      '-A KUBE-PORTALS-HOST -d fd00::10/128 -p tcp -m comment --comment "default/web:http" -m tcp --dport 80 -j DNAT --to-destination [fd00::1]:40001',
    ]);
  });

  it('uses ::1 for host chains of a wildcard IPv6 listener', () => {
    const v6: Portal = { ...web, clusterIPs: ['fd00::10'], externalIPs: [], nodePort: 0 };
    expect(renderPortalsPayload([v6], { family: 'IPv6' }, [])).toContain('--to-destination [::1]:40001');
  });

  it('is independent of input order and flushes chains even when empty', () => {
    expect(renderPortalsPayload([dns, web], { family: 'IPv4' }, [])).toBe(renderPortalsPayload([web, dns], { family: 'IPv4' }, []));
    expect(renderPortalsPayload([], { family: 'IPv4' }, [])).toBe(
      '*nat\n:KUBE-PORTALS-CONTAINER - [0:0]\n:KUBE-PORTALS-HOST - [0:0]\n:KUBE-NODEPORT-CONTAINER - [0:0]\n:KUBE-NODEPORT-HOST - [0:0]\nCOMMIT\n',
    );
  });

  it('sanitizes comments', () => {
    expect(sanitizeComment('ns/na"me:p ort$(x)')).toBe('ns/na_me:p_ort__x_');
    expect(sanitizeComment('x'.repeat(300))).toHaveLength(256);
  });
});

const savedWithJumps = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':KUBE-PORTALS-CONTAINER - [0:0]',
  ':KUBE-PORTALS-HOST - [0:0]',
  ':KUBE-NODEPORT-CONTAINER - [0:0]',
  ':OTHER - [0:0]',
  '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
  '-A PREROUTING -j OTHER',
  '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
  '-A OUTPUT -m addrtype --dst-type LOCAL -j KUBE-PORTALS-HOST-X',
  '-A KUBE-PORTALS-CONTAINER -d 198.19.0.10/32 -p tcp -j REDIRECT --to-ports 40001',
  'COMMIT',
].join('\n');

describe('missingJumpRules', () => {
  it('reports only the jumps absent from the saved table', () => {
    expect(missingJumpRules(savedWithJumps).map((j) => `${j.chain}->${j.target}`)).toEqual([
      'PREROUTING->KUBE-NODEPORT-CONTAINER',
      'OUTPUT->KUBE-NODEPORT-HOST',
    ]);
    expect(missingJumpRules('*nat\nCOMMIT\n')).toHaveLength(4);
  });
});

describe('renderPortalsCleanup', () => {
  it('deletes our jumps by their saved spec and removes only our chains', () => {
    expect(renderPortalsCleanup(savedWithJumps)).toBe(
      [
        '*nat',
        ':KUBE-PORTALS-CONTAINER - [0:0]',
        ':KUBE-PORTALS-HOST - [0:0]',
        ':KUBE-NODEPORT-CONTAINER - [0:0]',
        '-D PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
        '-D OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
        '-X KUBE-PORTALS-CONTAINER',
        '-X KUBE-PORTALS-HOST',
        '-X KUBE-NODEPORT-CONTAINER',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('returns undefined when nothing of ours is present', () => {
    expect(renderPortalsCleanup('*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j OTHER\nCOMMIT\n')).toBeUndefined();
  });
});
