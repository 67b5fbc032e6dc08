// The pipelined apply: requests go out in plan order, never more than the window at once, and a
// failure stops the sending and is what the call throws.

import { describe, expect, it } from 'vitest';
import { applyOperations } from '../../../modes/ipvs/apply.js';
import type { IpvsOps } from '../../../modes/ipvs/ops.js';
import type { IpvsOperation } from '../../../modes/ipvs/reconcile.js';
import type { VirtualServer } from '../../../modes/ipvs/netlink/types.js';

const vs = (i: number): VirtualServer => ({
  family: 'IPv4',
  protocol: 'TCP',
  address: `198.19.0.${i}`,
  port: 80,
  scheduler: 'rr',
  flags: 0,
  timeoutSeconds: 0,
  netmask: 0xffffffff,
});

/** A kernel that answers when told to, recording calls in order. */
function slowKernel() {
  const calls: string[] = [];
  const waiting: Array<{ name: string; resolve: () => void; reject: (e: Error) => void }> = [];
  let maxInFlight = 0;
  const call = (name: string) =>
    new Promise<void>((resolve, reject) => {
      calls.push(name);
      waiting.push({ name, resolve, reject });
      maxInFlight = Math.max(maxInFlight, waiting.length);
    });
  const ops = {
    addService: (v: VirtualServer) => call(`add ${v.address}`),
    addDestination: (v: VirtualServer) => call(`dest ${v.address}`),
  } as unknown as IpvsOps;
  return {
    ops,
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    /** Answer the oldest outstanding request. */
    answer(error?: Error): boolean {
      const w = waiting.shift();
      if (!w) return false;
      if (error) w.reject(error);
      else w.resolve();
      return true;
    },
  };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('applyOperations', () => {
  it('sends in plan order and keeps at most 64 requests outstanding', async () => {
    const k = slowKernel();
    const plan: IpvsOperation[] = [];
    for (let i = 1; i <= 100; i++) plan.push({ op: 'addService', vs: vs(i) }, { op: 'addDestination', vs: vs(i), rs: { address: '198.18.1.1', port: 8080, weight: 1, forward: 'masq' } as never });
    let done = false;
    const p = applyOperations(k.ops, plan).then(() => (done = true));
    await flush();
    expect(k.calls).toHaveLength(64);
    while (k.answer()) await flush();
    await p;
    expect(done).toBe(true);
    expect(k.maxInFlight).toBe(64);
    expect(k.calls).toEqual(plan.map((o) => `${o.op === 'addService' ? 'add' : 'dest'} ${o.vs.address}`));
  });

  it('stops sending after a failure and throws it once the outstanding answers are in', async () => {
    const k = slowKernel();
    const plan: IpvsOperation[] = Array.from({ length: 200 }, (_, i) => ({ op: 'addService', vs: vs(i + 1) }));
    const p = applyOperations(k.ops, plan).catch((e: unknown) => e);
    await flush();
    k.answer(new Error('EEXIST'));
    await flush();
    while (k.answer()) await flush();
    expect(await p).toEqual(new Error('EEXIST'));
    expect(k.calls).toHaveLength(64); // the first window only
  });
});
