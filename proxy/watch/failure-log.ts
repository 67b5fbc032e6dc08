// The watch layer's account of apiserver trouble, shared by all informers: each distinct problem
// (api-failure.ts's key) is logged once per outage, however many informers and retries hit it; the
// repeats go to -v=4. When every informer that failed is watching again, one line says so.

import type { Logger } from '../log.js';
import { describeApiFailure } from './api-failure.js';

export interface RetryInfo {
  readonly failures: number;
  readonly retryInMs: number;
}

export class WatchFailureLog {
  private readonly reported = new Set<string>();
  /** Resources whose watch is down → when it went down. */
  private readonly failing = new Map<string, number>();
  private readonly outageResources = new Set<string>();
  private outageStart: number | undefined;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  failed(resource: string, err: unknown, retry: RetryInfo): void {
    const f = describeApiFailure(err, resource);
    if (f.streamCut && !this.failing.has(resource)) {
      this.log.v(2, 'watch stream cut; reconnecting', { resource, code: f.code, retryInMs: retry.retryInMs });
      return;
    }
    if (!this.failing.has(resource)) this.failing.set(resource, this.now());
    this.outageStart ??= this.now();
    this.outageResources.add(resource);
    const fields = { resource, reason: f.reason, ...(f.code !== undefined ? { code: f.code } : {}), ...(f.detail ? { detail: f.detail } : {}) };
    if (this.reported.has(f.key)) {
      this.log.v(4, 'watch still failing', { ...fields, ...retry });
      return;
    }
    this.reported.add(f.key);
    this.log.warn('watch failed; retrying', { ...fields, retryInMs: retry.retryInMs });
  }

  /** An informer's watch request was accepted (HTTP 200). */
  established(resource: string): void {
    const since = this.failing.get(resource);
    if (since === undefined) return;
    this.failing.delete(resource);
    this.log.v(4, 'watch re-established for resource', { resource, downMs: this.now() - since });
    if (this.failing.size > 0) return;
    const outageMs = this.now() - (this.outageStart ?? since);
    this.log.info('watch re-established', { resources: [...this.outageResources].sort(), outageMs });
    // A later outage is a new story: its errors are worth a line again.
    this.reported.clear();
    this.outageResources.clear();
    this.outageStart = undefined;
  }
}
