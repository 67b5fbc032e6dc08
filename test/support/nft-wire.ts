// JSON for nf_tables model values across a process boundary: bigint handles, Uint8Array data
// and Maps survive the trip, and an NftCommitError is rebuilt as one on the other side.

import { NftCommitError } from '../../modes/nftables/netlink/errors.js';
import type { NftOp } from '../../modes/nftables/netlink/types.js';

export function toWire(v: unknown): string {
  return JSON.stringify(v, function (this: unknown, _k, val: unknown) {
    // JSON would turn an undefined array slot (a handle not given) into null.
    if (val === undefined && Array.isArray(this)) return { $undefined: true };
    if (typeof val === 'bigint') return { $bigint: val.toString() };
    if (val instanceof Uint8Array) return { $bytes: Buffer.from(val).toString('hex') };
    if (val instanceof Map) return { $map: [...val] };
    if (val instanceof NftCommitError) {
      return { $commitError: { opIndex: val.opIndex, failedOp: val.failedOp, errno: val.errno, message: val.message } };
    }
    if (val instanceof Error) return { $error: val.message };
    return val;
  });
}

export function fromWire(s: string): unknown {
  return JSON.parse(s, (_k, val: unknown) => {
    if (val && typeof val === 'object') {
      const o = val as Record<string, unknown>;
      if (o['$undefined'] === true) return undefined;
      if (typeof o['$bigint'] === 'string') return BigInt(o['$bigint']);
      if (typeof o['$bytes'] === 'string') return new Uint8Array(Buffer.from(o['$bytes'], 'hex'));
      if (Array.isArray(o['$map'])) return new Map(o['$map'] as [unknown, unknown][]);
      if (o['$commitError']) {
        const e = o['$commitError'] as { opIndex: number; failedOp: NftOp | undefined; errno: number; message: string };
        return new NftCommitError(e.opIndex, e.failedOp, e.errno, e.message);
      }
      if (typeof o['$error'] === 'string') return new Error(o['$error']);
    }
    return val;
  });
}
