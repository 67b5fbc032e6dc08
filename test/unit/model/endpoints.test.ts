import { describe, expect, it } from 'vitest';
import type { V1Endpoints } from '@kubernetes/client-node';
import {
  endpointsForServicePort,
  endpointsFromSlice,
  endpointsFromV1Endpoints,
  mergeEndpoints,
  portKey,
  triggerTimeOf,
} from '../../../proxy/model/endpoints.js';
import { slice, sliceEp, sp } from './fixtures.js';

const ips = (l: readonly { ip: string }[] | undefined): string[] => (l ?? []).map((e) => e.ip);

describe('endpointsFromSlice', () => {
  it('defaults conditions: ready nil → true, serving nil → ready, terminating nil → false', () => {
    const r = endpointsFromSlice(
      slice('s1', 'web', [
        sliceEp(['198.18.0.1']),
        sliceEp(['198.18.0.2'], { conditions: { ready: false } }),
        sliceEp(['198.18.0.3'], { conditions: { ready: false, serving: true, terminating: true } }),
      ]),
      'me',
    );
    const list = r.byPort.get(portKey('http', 'TCP'))!;
    expect(list.map((e) => [e.ip, e.ready, e.serving, e.terminating])).toEqual([
      ['198.18.0.1', true, true, false],
      ['198.18.0.2', false, false, false],
      ['198.18.0.3', false, true, true],
    ]);
  });

  it('uses the first address of each endpoint (as upstream), every port, and sets locality, zone and hints', () => {
    const r = endpointsFromSlice(
      slice(
        's1',
        'web',
        [
          // addresses[1] is a fungible copy the API lets consumers ignore; upstream does.
          sliceEp(['198.18.0.10', '198.18.0.9'], {
            nodeName: 'me',
            zone: 'a',
            hints: { forZones: [{ name: 'a' }], forNodes: [{ name: 'me' }] },
          }),
          sliceEp(['198.18.0.20', 'not-even-parsed'], { nodeName: 'other' }),
          sliceEp(['198.18.0.3']),
        ],
        { ports: [{ name: 'http', port: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' }] },
      ),
      'me',
    );
    expect(r.errors).toEqual([]);
    // Numeric sort: .3 before .10.
    expect(ips(r.byPort.get('http/TCP'))).toEqual(['198.18.0.3', '198.18.0.10', '198.18.0.20']);
    const dns = r.byPort.get('dns/UDP')!;
    expect(dns.map((e) => e.port)).toEqual([53, 53, 53]);
    expect(dns[1]).toMatchObject({ isLocal: true, nodeName: 'me', zone: 'a', zoneHints: ['a'], nodeHints: ['me'], family: 'IPv4' });
    expect(dns[2]).toMatchObject({ isLocal: false, zone: '', zoneHints: [], nodeHints: [] });
  });

  it('normalizes addresses as the apiserver parses them: leading zeros are decimal, IPv6 is canonical', () => {
    const v4 = endpointsFromSlice(slice('s', 'web', [sliceEp(['198.018.0.012']), sliceEp(['198.18.0.12']), sliceEp(['198.18.0.010'])]), 'me');
    expect(v4.errors).toEqual([]);
    // "198.018.0.012" and "198.18.0.12" are one endpoint; "010" is ten, not octal eight.
    expect(ips(v4.byPort.get('http/TCP'))).toEqual(['198.18.0.10', '198.18.0.12']);
    const v6 = endpointsFromSlice(
      slice('s6', 'web', [sliceEp(['2001:DB8:0:0:0:0:0:00A1']), sliceEp(['2001:db8::a1'])], { addressType: 'IPv6' }),
      'me',
    );
    expect(v6.byPort.get('http/TCP')?.map((e) => [e.ip, e.family])).toEqual([['2001:db8::a1', 'IPv6']]);
  });

  it('reports and skips endpoints whose first address is invalid or of the wrong family, keeping the rest', () => {
    const r = endpointsFromSlice(
      slice('s', 'web', [sliceEp(['198.18.0.1']), sliceEp(['2001:db8::1']), sliceEp(['bogus', '198.18.0.2']), sliceEp([])]),
      'me',
    );
    expect(ips(r.byPort.get('http/TCP'))).toEqual(['198.18.0.1']);
    expect(r.errors.map((e) => e.field)).toEqual(['endpoints[1].addresses[0]', 'endpoints[2].addresses[0]', 'endpoints[3].addresses']);
    expect(r.errors[1]?.message).toBe('must be a valid IPv4 address, got "bogus"; this endpoint is ignored');
  });

  it('ignores FQDN slices and skips nil ports', () => {
    expect(endpointsFromSlice(slice('f', 'web', [sliceEp(['example.org'])], { addressType: 'FQDN' }), 'me').byPort.size).toBe(0);
    const r = endpointsFromSlice(slice('s', 'web', [sliceEp(['198.18.0.1'])], { ports: [{ name: 'x' }] }), 'me');
    expect(r.byPort.size).toBe(0);
    expect(r.errors).toEqual([]);
  });

  it('matches service ports by name and protocol', () => {
    const r = endpointsFromSlice(slice('s', 'web', [sliceEp(['198.18.0.1'])], { ports: [{ name: 'http', port: 8080, protocol: 'UDP' }] }), 'me');
    expect(endpointsForServicePort(r.byPort, sp({ portName: 'http', protocol: 'TCP' }))).toEqual([]);
    expect(ips(endpointsForServicePort(r.byPort, sp({ portName: 'http', protocol: 'UDP' })))).toEqual(['198.18.0.1']);
  });
});

describe('mergeEndpoints', () => {
  it('merges slices and de-duplicates by ip:port preferring ready, then serving', () => {
    const a = endpointsFromSlice(
      slice('a', 'web', [
        sliceEp(['198.18.0.2'], { conditions: { ready: false, serving: false } }),
        sliceEp(['198.18.0.3'], { conditions: { ready: false, serving: false } }),
      ]),
      'me',
    ).byPort;
    const b = endpointsFromSlice(
      slice('b', 'web', [
        sliceEp(['198.18.0.2']),
        sliceEp(['198.18.0.3'], { conditions: { ready: false, serving: true, terminating: true } }),
        sliceEp(['198.18.0.1']),
      ]),
      'me',
    ).byPort;
    for (const merged of [mergeEndpoints([a, b]), mergeEndpoints([b, a])]) {
      const list = merged.get('http/TCP')!;
      expect(list.map((e) => [e.ip, e.ready, e.serving])).toEqual([
        ['198.18.0.1', true, true],
        ['198.18.0.2', true, true],
        ['198.18.0.3', false, true],
      ]);
    }
  });
});

describe('endpointsFromV1Endpoints', () => {
  it('converts subsets to the same shape as slices', () => {
    const eps: V1Endpoints = {
      metadata: { name: 'web', namespace: 'default' },
      subsets: [
        {
          addresses: [{ ip: '198.18.0.2', nodeName: 'me' }, { ip: '2001:db8::1' }],
          notReadyAddresses: [{ ip: '198.18.0.1', nodeName: 'other' }],
          ports: [{ name: 'http', port: 8080 }],
        },
      ],
    };
    const r = endpointsFromV1Endpoints(eps, 'me');
    expect(r.errors).toEqual([]);
    const list = r.byPort.get('http/TCP')!;
    expect(list.map((e) => [e.ip, e.family, e.ready, e.serving, e.terminating, e.isLocal])).toEqual([
      ['198.18.0.1', 'IPv4', false, false, false, false],
      ['198.18.0.2', 'IPv4', true, true, false, true],
      ['2001:db8::1', 'IPv6', true, true, false, false],
    ]);
    const sliceVersion = endpointsFromSlice(
      slice('s', 'web', [sliceEp(['198.18.0.2'], { nodeName: 'me' })]),
      'me',
    ).byPort.get('http/TCP')![0];
    expect(list[1]).toEqual(sliceVersion);
  });

  it('reports invalid ports and addresses', () => {
    const r = endpointsFromV1Endpoints(
      { subsets: [{ addresses: [{ ip: 'x' }], ports: [{ port: 0 }] }] },
      'me',
    );
    expect(r.errors.map((e) => e.field)).toEqual(['subsets[0].ports[0].port', 'subsets[0].addresses[0].ip']);
  });

  it('normalizes addresses with leading zeros', () => {
    const r = endpointsFromV1Endpoints(
      { subsets: [{ addresses: [{ ip: '198.018.0.012' }], notReadyAddresses: [{ ip: '2001:DB8::0:1' }], ports: [{ port: 80 }] }] },
      'me',
    );
    expect(r.errors).toEqual([]);
    expect(ips(r.byPort.get('/TCP'))).toEqual(['198.18.0.12', '2001:db8::1']);
  });
});

describe('triggerTimeOf', () => {
  it('parses RFC3339 and ignores junk', () => {
    const ann = (v: string) => ({ metadata: { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': v } } });
    expect(triggerTimeOf(ann('2024-05-01T10:00:00Z'))).toBe(Date.UTC(2024, 4, 1, 10, 0, 0));
    expect(triggerTimeOf(ann('yesterday'))).toBeUndefined();
    expect(triggerTimeOf({ metadata: {} })).toBeUndefined();
  });
});
