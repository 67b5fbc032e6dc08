// Issue #18: after one endpoint change, a partial sync signs (digests) only the chains that
// changed. Each KUBE-SEP chain's rules are a function of its ServicePort and endpoint address,
// which its name hashes, so under the same ServicePort object the record's digest of an
// unchanged endpoint chain is taken over (record.ts). Counted with rulesSigned(); and a property
// test shows the taken-over digests are exactly what signing the rules again gives.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FamilySync } from '../../../modes/iptables/family-sync.js';
import { rulesSigned } from '../../../modes/iptables/payload/signature.js';
import type { RecordedService } from '../../../modes/iptables/record.js';
import { silentLogger } from '../../../proxy/log.js';
import type { Endpoint, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { changesBetween } from '../../support/changes.js';
import { payloads, recordingRunner, type RecordingRunner } from '../../support/recording-runner.js';
import { FLAT_NODE } from '../../support/flat-cluster.js';
import { makeEndpoint, makeServicePort } from '../../support/model-builders.js';
import { options } from './fixtures.js';

const ENDPOINTS = 10;
const ep = (i: number): Endpoint => makeEndpoint(`198.18.${20 + (i >> 8)}.${1 + (i & 255)}`, { nodeName: i % 3 === 0 ? 'node-a' : 'node-b', isLocal: i % 3 === 0 });

function service(i: number, affinity: boolean): ServicePort {
  return makeServicePort('ns', `s${i}`, 'p', {
    clusterIPs: [`198.19.0.${i + 1}`],
    ...(i % 2 === 1 ? { type: 'NodePort' as const, nodePort: 30100 + i } : {}),
    ...(affinity ? { sessionAffinity: { type: 'ClientIP' as const, timeoutSeconds: 600 } } : {}),
  });
}

function state(sps: readonly ServicePort[], eps: ReadonlyMap<string, readonly Endpoint[]>): ProxyState {
  return { services: new Map(sps.map((sp) => [sp.key, sp])), endpoints: new Map(eps), node: FLAT_NODE };
}

const recordOf = (fs: FamilySync): ReadonlyMap<string, RecordedService> => fs['record'];

describe('iptables partial sync: digests', () => {
  it('signs only the selection chain and the new endpoint chain after one endpoint is replaced', async () => {
    const o = options();
    const sp = service(0, false);
    const list = Array.from({ length: ENDPOINTS }, (_, i) => ep(i));
    const s1 = state([sp], new Map([[sp.key, list]]));
    const fs = new FamilySync('IPv4', recordingRunner(), silentLogger);
    await fs.full(s1, o);
    const s2 = state([sp], new Map([[sp.key, [...list.slice(0, 4), ep(100), ...list.slice(5)]]]));
    const before = rulesSigned();
    const r = await fs.partial(s2, changesBetween(s1, s2).changed, o);
    const signed = rulesSigned() - before;
    expect(r.servicesRewritten).toBe(1);
    // KUBE-SVC: one masquerade rule + one rule per endpoint; the new KUBE-SEP: two rules. Signing
    // every chain again would add the nine unchanged endpoint chains' 18 rules.
    expect(signed).toBe(1 + ENDPOINTS + 2);
  });

  it('keeps the same record and payloads as signing every chain again, after any change sequence', async () => {
    const o = options();
    type Op = { i: number; kind: 'replace' | 'drop' | 'add' | 'affinity' | 'local'; k: number };
    const opArb: fc.Arbitrary<Op> = fc.record({
      i: fc.nat(3),
      kind: fc.constantFrom('replace' as const, 'drop' as const, 'add' as const, 'affinity' as const, 'local' as const),
      k: fc.nat(40),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 15 }), async (ops) => {
        let sps = [0, 1, 2, 3].map((i) => service(i, false));
        const eps = new Map(sps.map((sp, i) => [sp.key, Array.from({ length: 4 }, (_, k) => ep(i * 50 + k))]));
        let s = state(sps, eps);
        const fs = new FamilySync('IPv4', recordingRunner(), silentLogger);
        await fs.full(s, o);
        for (const op of ops) {
          const sp = sps[op.i] as ServicePort;
          const list = [...(eps.get(sp.key) ?? [])];
          if (op.kind === 'replace' && list.length > 0) list[op.k % list.length] = ep(op.i * 50 + 4 + op.k);
          if (op.kind === 'drop') list.splice(op.k % (list.length || 1), 1);
          if (op.kind === 'add') list.push(ep(op.i * 50 + 4 + op.k));
          if (op.kind === 'affinity') sps = sps.map((x, j) => (j === op.i ? service(op.i, x.sessionAffinity.type !== 'ClientIP') : x));
          if (op.kind === 'local') sps = sps.map((x, j) => (j === op.i ? { ...x, internalTrafficPolicy: x.internalTrafficPolicy === 'Local' ? 'Cluster' : 'Local' } : x));
          eps.set(sp.key, list);
          const next = state(sps, eps);
          // The same step from the same record, but with every chain signed again.
          const reference = new FamilySync('IPv4', recordingRunner(), silentLogger);
          reference['record'] = new Map([...recordOf(fs)].map(([k, r]) => [k, { ...r, sp: { ...r.sp } }]));
          reference['consistent'] = true;
          const refRunner = reference['runner'] as RecordingRunner;
          await reference.partial(next, changesBetween(s, next).changed, o);
          const runner = fs['runner'] as RecordingRunner;
          runner.restores.length = 0;
          await fs.partial(next, changesBetween(s, next).changed, o);
          expect(payloads(runner)).toEqual(payloads(refRunner));
          const fresh = new FamilySync('IPv4', recordingRunner(), silentLogger);
          await fresh.full(next, o);
          for (const [key, r] of recordOf(fresh)) expect(recordOf(fs).get(key)?.chains).toEqual(r.chains);
          s = next;
        }
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});
