// The demo's pure parts: options from flags and environment, the scenario's objects, the per-second
// counts and the three renderings of the live view.

import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../../demo/args.js';
import { PROBES, endpointPods, initialObjects, webSlice } from '../../../demo/scenario.js';
import { SecondCounts, renderJson, renderPlain, renderTable, type Frame } from '../../../demo/view.js';
import { POD_PLANS } from '../../e2e/harness/topology.js';

describe('demo options', () => {
  it('defaults: iptables, until Ctrl-C, scaling every 5 s, a table on a terminal and plain lines otherwise', () => {
    expect(parseDemoArgs([], {}, true)).toEqual({ mode: 'iptables', scaleEvery: 5, output: 'table', help: false });
    expect(parseDemoArgs([], {}, false).output).toBe('plain');
  });

  it('flags win over the environment', () => {
    const env = { KPT_DEMO_SECONDS: '7', KPT_DEMO_MODE: 'userspace', KPT_DEMO_OUTPUT: 'plain', KPT_DEMO_SCALE_SECONDS: '3' };
    expect(parseDemoArgs([], env, true)).toEqual({ mode: 'userspace', seconds: 7, scaleEvery: 3, output: 'plain', help: false });
    expect(parseDemoArgs(['--mode', 'iptables', '--seconds', '2', '--json', '--scale-every', '9'], env, true)).toEqual({
      mode: 'iptables',
      seconds: 2,
      scaleEvery: 9,
      output: 'json',
      help: false,
    });
  });

  it('rejects bad values naming the flag or variable', () => {
    expect(() => parseDemoArgs(['--mode', 'ipvs'], {}, true)).toThrow(/--mode must be one of iptables, userspace, nftables/);
    expect(() => parseDemoArgs([], { KPT_DEMO_SECONDS: '1.5' }, true)).toThrow(/KPT_DEMO_SECONDS must be a whole number/);
    expect(() => parseDemoArgs(['--seconds', '0'], {}, true)).toThrow(/--seconds must be/);
    expect(() => parseDemoArgs([], { KPT_DEMO_OUTPUT: 'xml' }, true)).toThrow(/KPT_DEMO_OUTPUT/);
    expect(() => parseDemoArgs(['--json', '--plain'], {}, true)).toThrow(/exclude/);
    expect(() => parseDemoArgs(['--bogus'], {}, true)).toThrow(/bogus/);
  });
});

describe('demo scenario', () => {
  const podIP = (name: string): string => POD_PLANS.find((p) => p.name === name)?.ipv4 ?? '?';

  it('serves every kind of Service the issue lists, on 198.19.0.0/16 or a node IP', () => {
    expect(PROBES.map((p) => p.kind)).toEqual([
      'ClusterIP',
      'NodePort',
      'NodePort, externalTrafficPolicy Local',
      'ClusterIP, sessionAffinity ClientIP',
      'ClusterIP, UDP',
    ]);
    for (const p of PROBES) expect(p.ip).toMatch(/^198\.1[89]\./);
    const kinds = initialObjects().map((o) => o.kind);
    expect(kinds.filter((k) => k === 'Service')).toHaveLength(PROBES.length);
    expect(kinds.filter((k) => k === 'EndpointSlice')).toHaveLength(PROBES.length);
    expect(kinds.filter((k) => k === 'Node')).toHaveLength(2);
  });

  it('scaling adds and removes b2 in the same web slice object', () => {
    type Slice = { metadata: { name: string }; endpoints: { addresses: string[] }[] };
    const up = webSlice(true) as unknown as Slice;
    const down = webSlice(false) as unknown as Slice;
    expect(up.metadata.name).toBe(down.metadata.name);
    expect(up.endpoints.map((e) => e.addresses[0])).toEqual(['a1', 'b1', 'b2'].map(podIP));
    expect(down.endpoints.map((e) => e.addresses[0])).toEqual(['a1', 'b1'].map(podIP));
    expect(endpointPods('default/shop', true)).toEqual(['a2', 'b2']);
  });
});

describe('demo live view', () => {
  it('counts answers and errors per probe for one second, then starts over', () => {
    const c = new SecondCounts(2);
    c.add({ i: 0, name: 'a1' });
    c.add({ i: 0, name: 'a1' });
    c.add({ i: 1, name: 'b1' });
    c.add({ i: 1, error: 'ETIMEDOUT' });
    expect(c.take()).toEqual({ answered: [{ a1: 2 }, { b1: 1 }], errors: [{}, { ETIMEDOUT: 1 }] });
    expect(c.take()).toEqual({ answered: [{}, {}], errors: [{}, {}] });
  });

  const web = PROBES[0];
  if (!web) throw new Error('no web probe');
  const frame: Frame = {
    second: 3,
    mode: 'iptables',
    rows: [{ probe: web, endpoints: ['a1', 'b1'], answered: { b1: 4, a1: 6 }, errors: { ETIMEDOUT: 1 } }],
    events: ['[5s] default/web scaled up'],
  };

  it('plain: one line per service with its endpoints and answers in name order', () => {
    expect(renderPlain(frame)).toEqual([
      '[  3s] default/web (ClusterIP) client → 198.19.0.10:80/TCP endpoints a1,b1 answered a1=6 b1=4 errors ETIMEDOUT=1',
    ]);
  });

  it('json: one object per second', () => {
    expect(JSON.parse(renderJson(frame))).toEqual({
      event: 'second',
      second: 3,
      mode: 'iptables',
      services: [
        { service: 'default/web', kind: 'ClusterIP', from: 'client', to: '198.19.0.10:80/TCP', endpoints: ['a1', 'b1'], answered: { a1: 6, b1: 4 }, errors: { ETIMEDOUT: 1 } },
      ],
    });
  });

  it('table: aligned columns, a bar per pod, errors and recent events; no ANSI codes without colour', () => {
    const lines = renderTable(frame, { color: false });
    expect(lines[0]).toContain('kube-proxy-ts demo — mode iptables — 3 s');
    const header = lines.find((l) => l.startsWith('SERVICE')) ?? '';
    const row = lines.find((l) => l.startsWith('default/web')) ?? '';
    expect(row.indexOf('ClusterIP')).toBe(header.indexOf('KIND'));
    expect(row.indexOf('a1 b1')).toBe(header.indexOf('ENDPOINTS'));
    expect(row).toContain('a1 ██████ 6  b1 ████ 4  errors: ETIMEDOUT=1');
    expect(lines.at(-1)).toBe('[5s] default/web scaled up');
    expect(lines.join('\n')).not.toContain('\x1b[');
    expect(renderTable(frame, { color: true }).join('\n')).toContain('\x1b[');
  });
});
