// Thin adapter: run a reconcile plan's operations against the kernel, in order.
//
// Requests are pipelined: up to WINDOW are sent before the first answer is awaited. The kernel
// handles a netlink socket's requests one at a time in the order they were sent, so a virtual
// server is still added before its real servers; what pipelining removes is one round trip (and
// one event-loop turn) per operation, which dominates a full sync of ~110,000 operations at
// 10,000 services × 10 endpoints. The window stays small enough that the ACKs waiting to be read
// fit in the socket's receive buffer (a dropped ACK would only surface as a timeout).

import type { IpvsOps } from './ops.js';
import type { IpvsOperation } from './reconcile.js';

const WINDOW = 64;

export async function applyOperations(ipvs: IpvsOps, ops: readonly IpvsOperation[]): Promise<void> {
  let active = 0;
  let failure: { readonly error: unknown } | undefined;
  // One waiter at a time: the loop below, for a free slot or, at the end, for the last answer.
  let wake: (() => void) | undefined;
  const settled = (): void => {
    active--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const wait = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  for (const o of ops) {
    while (active >= WINDOW) await wait();
    // After a failure nothing more is sent: the sync fails and the retry is a full one.
    if (failure) break;
    active++;
    run(ipvs, o).then(settled, (error: unknown) => {
      failure ??= { error };
      settled();
    });
  }
  while (active > 0) await wait();
  if (failure) throw failure.error;
}

function run(ipvs: IpvsOps, o: IpvsOperation): Promise<void> {
  switch (o.op) {
    case 'addService':
      return ipvs.addService(o.vs);
    case 'updateService':
      return ipvs.updateService(o.vs);
    case 'deleteService':
      return ipvs.deleteService(o.vs);
    case 'addDestination':
      return ipvs.addDestination(o.vs, o.rs);
    case 'updateDestination':
      return ipvs.updateDestination(o.vs, o.rs);
    case 'deleteDestination':
      return ipvs.deleteDestination(o.vs, o.rs);
  }
}
