// Kernel answers failed requests with a negative errno in NLMSG_ERROR. The meaning depends on
// the operation (net/netfilter/ipvs/ip_vs_ctl.c: ESRCH = service not found, ENOENT = no such
// destination, or no such scheduler module when adding a service), so the message is chosen
// per operation, the way ipvsadm explains them.

import { errnoName } from '../../shared/netlink/errno.js';

export type IpvsOp =
  | 'resolveFamily'
  | 'listServices'
  | 'addService'
  | 'updateService'
  | 'deleteService'
  | 'listDestinations'
  | 'addDestination'
  | 'updateDestination'
  | 'deleteDestination'
  | 'getTimeouts'
  | 'setTimeouts'
  | 'getInfo'
  | 'flush';

const isDestOp = (op: IpvsOp): boolean => op.endsWith('Destination') || op === 'listDestinations';

function explain(op: IpvsOp, code: string): string {
  switch (code) {
    case 'EPERM':
      return 'operation not permitted (needs CAP_NET_ADMIN)';
    case 'EEXIST':
      return isDestOp(op) ? 'destination already exists' : 'service already exists';
    case 'ESRCH':
      return 'no such service';
    case 'ENOENT':
      if (op === 'resolveFamily') return 'IPVS generic netlink family not found (is the ip_vs module loaded?)';
      if (op === 'addService' || op === 'updateService') return 'scheduler or persistence engine module not found';
      return isDestOp(op) ? 'no such destination' : 'not found';
    case 'EINVAL':
      return 'invalid argument';
    case 'EBUSY':
      return 'device or resource busy';
    case 'ENOMEM':
      return 'out of memory';
    case 'EAFNOSUPPORT':
      return 'address family not supported';
    case 'EOPNOTSUPP':
    case 'ENOTSUP':
      return 'operation not supported';
    default:
      return code;
  }
}

export class IpvsError extends Error {
  override readonly name = 'IpvsError';
  constructor(
    readonly op: IpvsOp,
    /** Positive errno value. */
    readonly errno: number,
    readonly code: string,
    detail?: string,
  ) {
    super(`ipvs ${op}: ${explain(op, code)} (${code})${detail ? `: ${detail}` : ''}`);
  }

  static fromKernel(op: IpvsOp, negativeErrno: number, extMessage?: string): IpvsError {
    const errno = -negativeErrno;
    return new IpvsError(op, errno, errnoName(errno), extMessage);
  }
}
