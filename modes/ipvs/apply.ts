// Thin adapter: run a reconcile plan's operations against the kernel, in order.

import type { IpvsOps } from './ops.js';
import type { IpvsOperation } from './reconcile.js';

export async function applyOperations(ipvs: IpvsOps, ops: readonly IpvsOperation[]): Promise<void> {
  for (const o of ops) {
    switch (o.op) {
      case 'addService':
        await ipvs.addService(o.vs);
        break;
      case 'updateService':
        await ipvs.updateService(o.vs);
        break;
      case 'deleteService':
        await ipvs.deleteService(o.vs);
        break;
      case 'addDestination':
        await ipvs.addDestination(o.vs, o.rs);
        break;
      case 'updateDestination':
        await ipvs.updateDestination(o.vs, o.rs);
        break;
      case 'deleteDestination':
        await ipvs.deleteDestination(o.vs, o.rs);
        break;
    }
  }
}
