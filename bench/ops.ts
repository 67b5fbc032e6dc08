// The changes the benchmarks apply, generated deterministically so the daemon run and the
// in-process run of the same size see exactly the same sequence of objects.

import type { EndpointSpec } from '../test/apiserver/index.js';
import { endpointChainName } from '../modes/iptables/names.js';
import {
  BENCH_NAMESPACE,
  extraEndpoint,
  extraService,
  prng,
  sliceFor,
  type GeneratedCluster,
} from './generate.js';
import type { BenchOp } from './inprocess.js';

export const OP_NAMES = ['endpoint add', 'endpoint remove', 'service add', 'service remove', '100 endpoint changes'] as const;
export type OpName = (typeof OP_NAMES)[number];

export interface GeneratedOp {
  readonly ops: BenchOp[];
  /** For an endpoint add: the KUBE-SEP chain that must appear. */
  readonly expectChain?: string;
}

export class OpGenerator {
  private readonly rnd: () => number;
  private readonly eps: EndpointSpec[][];
  private readonly alive: boolean[];
  private seq = 0;
  private extra = 0;

  constructor(private readonly c: GeneratedCluster, seed = 7) {
    this.rnd = prng(seed);
    this.eps = c.services.map((s) => [...s.endpoints]);
    this.alive = c.services.map(() => true);
  }

  private pick(): number {
    for (;;) {
      const i = Math.floor(this.rnd() * this.c.services.length);
      if (this.alive[i]) return i;
    }
  }

  private slice(i: number): BenchOp {
    return { kind: 'upsert', obj: sliceFor(this.c.services[i]!.name, this.eps[i]!) };
  }

  /** A new ready endpoint on the benchmarked node (so it is rendered whatever the policies). */
  endpointAdd(): GeneratedOp {
    const i = this.pick();
    const ep = extraEndpoint(this.seq++, 0);
    this.eps[i]!.push(ep);
    const key = `${BENCH_NAMESPACE}/${this.c.services[i]!.name}:http`;
    return { ops: [this.slice(i)], expectChain: endpointChainName(key, 'TCP', `${ep.ip}:8080`) };
  }

  endpointRemove(): GeneratedOp {
    let i = this.pick();
    while (this.eps[i]!.length < 2) i = this.pick();
    this.eps[i]!.pop();
    return { ops: [this.slice(i)] };
  }

  /** Replace one endpoint of a random service (a rolling update's step). */
  endpointReplace(): GeneratedOp {
    const i = this.pick();
    const list = this.eps[i]!;
    list[Math.floor(this.rnd() * list.length)] = extraEndpoint(this.seq++, Math.floor(this.rnd() * this.c.spec.nodes));
    return { ops: [this.slice(i)] };
  }

  serviceAdd(): GeneratedOp {
    const s = extraService(this.c.services.length + this.extra++, this.c.spec.endpointsPerService);
    return { ops: [{ kind: 'upsert', obj: s.service }, { kind: 'upsert', obj: s.slice }] };
  }

  serviceRemove(): GeneratedOp {
    const i = this.pick();
    this.alive[i] = false;
    const s = this.c.services[i]!;
    return { ops: [{ kind: 'delete', obj: sliceFor(s.name, this.eps[i]!) }, { kind: 'delete', obj: s.service }] };
  }

  burst(n = 100): GeneratedOp {
    const ops: BenchOp[] = [];
    for (let k = 0; k < n; k++) ops.push(...this.endpointReplace().ops);
    return { ops };
  }

  op(name: OpName): GeneratedOp {
    switch (name) {
      case 'endpoint add':
        return this.endpointAdd();
      case 'endpoint remove':
        return this.endpointRemove();
      case 'service add':
        return this.serviceAdd();
      case 'service remove':
        return this.serviceRemove();
      case '100 endpoint changes':
        return this.burst(100);
    }
  }
}
