// The error a failed nf_tables batch throws: which op of the batch the kernel refused, and why.

import type { NftOp } from './types.js';

export class NftCommitError extends Error {
  constructor(
    /** Index into the ops passed to commit(). */
    readonly opIndex: number,
    readonly failedOp: NftOp | undefined,
    /** Positive errno (e.g. 2 = ENOENT, 17 = EEXIST, 22 = EINVAL). */
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'NftCommitError';
  }
}
