// One resource's informer that never gives up. client-node's ListWatch re-lists by itself on
// 410 Gone and re-watches when a stream ends cleanly, but on any other error (connection refused,
// 5xx, 401, a broken stream) it reports the error and stops; this wrapper restarts it after a
// jittered exponential backoff. The ListWatch cache survives restarts, so resuming from the last
// resourceVersion replays what was missed, and a re-list (after 410) reports objects that vanished
// meanwhile as deletes: the sink is never flushed while the apiserver is away.

import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ListWatch } from './client-node.js';
import type { Logger } from '../log.js';
import { RestartBackoff, type WatchBackoffPolicy } from './backoff.js';
import type { WatchFailureLog } from './failure-log.js';
import { compactObject } from './compact.js';
import type { Strip } from './strip.js';
import { TypedWatch } from './typed-watch.js';

export interface ResourceWatchSpec<T extends KubernetesObject> {
  /** Plural resource name, for logs. */
  readonly resource: string;
  /** Collection path, e.g. /api/v1/services. */
  readonly path: string;
  /** Drops the fields of this kind nothing reads (strip.ts), before caching. */
  readonly strip?: Strip;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * The whole collection; `keep` (the informer's strip and compaction) is applied to each object
   * as its page arrives, so the unstripped list never exists at once (list.ts).
   */
  readonly list: (keep: (obj: T) => T) => Promise<KubernetesListObject<T>>;
  readonly onUpsert: (obj: T) => void;
  readonly onDelete: (obj: T) => void;
}

export interface InformerOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Shared by the informers, so one apiserver problem is logged once, not once per informer. */
  readonly failures: WatchFailureLog;
  readonly backoff: WatchBackoffPolicy;
  /** Called once, after the initial list has been delivered. */
  readonly onSynced: () => void;
  /** Called after every delivered add/update/delete. */
  readonly onEvent: () => void;
}

/** Server-side watch timeout: 5-10 minutes at random, as client-go's reflector picks it. */
function watchTimeoutSeconds(): number {
  return 300 + Math.floor(Math.random() * 300);
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private readonly backoff: RestartBackoff;
  private readonly log: Logger;
  private readonly resource: string;
  private isSynced = false;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    spec: ResourceWatchSpec<T>,
    private readonly opts: InformerOptions,
  ) {
    this.resource = spec.resource;
    this.log = opts.logger.with({ resource: spec.resource });
    this.backoff = new RestartBackoff(opts.backoff);
    const watch = new TypedWatch(
      opts.kubeConfig,
      {
        onWatchStart: () => this.markSynced(),
        onStreamData: () => this.backoff.reset(),
        onWatchEstablished: () => opts.failures.established(spec.resource),
      },
      watchTimeoutSeconds,
      spec.strip,
    );
    // Listed objects are compacted before ListWatch caches them, like watched ones (TypedWatch).
    const list = (): Promise<KubernetesListObject<T>> => spec.list((o) => compactObject(o, spec.strip));
    this.lw = new ListWatch<T>(spec.path, watch, list, false, spec.labelSelector, spec.fieldSelector);
    this.lw.on('add', (o) => this.deliver(() => spec.onUpsert(o)));
    this.lw.on('update', (o) => this.deliver(() => spec.onUpsert(o)));
    this.lw.on('delete', (o) => this.deliver(() => spec.onDelete(o)));
    this.lw.on('error', (err) => this.onError(err));
  }

  start(): void {
    this.stopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.lw.stop();
  }

  synced(): boolean {
    return this.isSynced;
  }

  /** The objects as last seen, for periodic resync. */
  cached(): readonly T[] {
    return this.lw.list();
  }

  private run(): void {
    this.lw.start().catch((err: unknown) => this.onError(err));
  }

  private deliver(fn: () => void): void {
    if (this.stopped) return;
    try {
      fn();
    } catch (err) {
      // A sink bug must not kill the informer's stream; it is logged and the event is dropped.
      this.log.error('event handler failed', { error: errorMessage(err) });
    }
    this.opts.onEvent();
  }

  private markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.log.v(2, 'informer synced', { objects: this.lw.list().length });
    this.opts.onSynced();
  }

  private onError(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    const delay = this.backoff.nextDelay();
    this.opts.failures.failed(this.resource, err, { failures: this.backoff.consecutiveFailures, retryInMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) this.run();
    }, delay);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.length > 300 ? err.message.slice(0, 300) + '...' : err.message;
  return String(err);
}
