// A client-node Watch with the informer's hooks, bookmarks and server-side timeouts. Objects stay
// the plain JSON the apiserver sent, as listed ones do (list.ts: client-node's generated models
// and their deserializer cost the daemon ~25 MiB of heap), and are compacted (compact.ts) before
// the informer caches them. Timestamps are therefore strings, not the Dates the V1* types
// declare: the model only ever tests them for presence (deletionTimestamp).

import type { KubeConfig } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { compactObject } from './compact.js';
import type { Strip } from './strip.js';

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type QueryParams = Record<string, string | number | boolean | undefined>;

export interface TypedWatchHooks {
  /** Called when the informer opens a watch: its list (if any) has been fully delivered. */
  readonly onWatchStart: () => void;
  /** Called for every line received on a stream, bookmarks included: the connection works. */
  readonly onStreamData: () => void;
  /** Called when the apiserver accepted a watch request (HTTP 200): the informer is watching. */
  readonly onWatchEstablished: () => void;
}

const OBJECT_PHASES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

export class TypedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly hooks: TypedWatchHooks,
    private readonly timeoutSeconds: () => number,
    private readonly strip?: Strip,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: QueryParams,
    callback: WatchCallback,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.hooks.onWatchStart();
    const params: QueryParams = {
      ...queryParams,
      // Bookmarks keep the resourceVersion fresh on quiet resources, so a reconnect after a blip
      // can resume instead of hitting 410 Gone and re-listing everything.
      allowWatchBookmarks: true,
      // Like client-go's reflector: the server ends each watch after a few minutes and the
      // informer re-watches, so a silently dead connection cannot last forever.
      timeoutSeconds: this.timeoutSeconds(),
    };
    // client-node's watch resolves once the response has been handled: after done(err) when the
    // request failed, with the stream open when it was accepted.
    let failed = false;
    const controller = await super.watch(
      path,
      params,
      (phase, obj, raw) => {
        this.hooks.onStreamData();
        const typed = OBJECT_PHASES.has(phase) && typeof obj === 'object' && obj !== null ? compactObject(obj, this.strip) : obj;
        callback(phase, typed, raw);
      },
      (err) => {
        if (err) failed = true;
        done(err);
      },
    );
    if (!failed) this.hooks.onWatchEstablished();
    return controller;
  }
}
