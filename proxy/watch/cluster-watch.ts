// Everything kube-proxy watches, wired to the model's event sink: Services, EndpointSlices (or v1
// Endpoints with --use-endpoints) and its own Node, with upstream's label filters.

import type {
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  V1EndpointSlice,
  V1Endpoints,
  V1Node,
  V1Service,
} from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import type { ClusterEventSink } from '../model/events.js';
import { DEFAULT_WATCH_BACKOFF, type WatchBackoffPolicy } from './backoff.js';
import { WatchFailureLog } from './failure-log.js';
import { errorMessage, ResilientInformer, type ResourceWatchSpec } from './informer.js';
import { listAll, type ListQuery } from './list.js';
import { stripEndpointSlice, stripEndpoints, stripNode, stripService } from './strip.js';

/** Services another proxy claims (service-proxy-name) are not ours, as upstream. */
export const SERVICE_SELECTOR = '!service.kubernetes.io/service-proxy-name';
/** Headless services have no virtual IP to program. */
export const ENDPOINTS_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

export interface ClusterWatchOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly useEndpoints: boolean;
  /**
   * Every resyncPeriodMs, every cached object is delivered to the sink again as an upsert (what a
   * client-go informer's resync does), followed by one onEvent. 0 disables it.
   */
  readonly resyncPeriodMs: number;
  readonly sink: ClusterEventSink;
  readonly logger: Logger;
  /** Once, when every informer has delivered its initial list. */
  readonly onSynced: () => void;
  /** After each delivered event (and each resync round). */
  readonly onEvent?: () => void;
  readonly backoff?: WatchBackoffPolicy;
}

export interface ClusterWatch {
  stop(): Promise<void>;
  synced(): boolean;
}

// The informers differ in their object type; they are only driven through this type-free face.
interface AnyInformer {
  start(): void;
  stop(): Promise<void>;
  synced(): boolean;
  resync(): void;
}

export function startClusterWatch(opts: ClusterWatchOptions): ClusterWatch {
  const log = opts.logger.with({ component: 'watch' });
  const onEvent = opts.onEvent ?? (() => undefined);
  let allSynced = false;
  const informers: AnyInformer[] = [];
  const failures = new WatchFailureLog(log);
  const checkSynced = (): void => {
    if (allSynced || informers.length === 0 || !informers.every((i) => i.synced())) return;
    allSynced = true;
    log.info('all informers synced');
    opts.onSynced();
  };

  const make = <T extends KubernetesObject>(spec: ResourceWatchSpec<T>): void => {
    const inf = new ResilientInformer<T>(spec, {
      kubeConfig: opts.kubeConfig,
      logger: log,
      failures,
      backoff: opts.backoff ?? DEFAULT_WATCH_BACKOFF,
      onSynced: checkSynced,
      onEvent,
    });
    informers.push({
      start: () => inf.start(),
      stop: () => inf.stop(),
      synced: () => inf.synced(),
      resync: () => {
        for (const o of inf.cached()) {
          try {
            spec.onUpsert(o);
          } catch (err) {
            log.error('resync handler failed', { resource: spec.resource, error: errorMessage(err) });
          }
        }
      },
    });
  };

  const kc = opts.kubeConfig;
  const list =
    <T extends KubernetesObject>(path: string, q: ListQuery) =>
    (keep: (o: T) => T): Promise<KubernetesListObject<T>> =>
      listAll(kc, path, q, keep) as Promise<KubernetesListObject<T>>;
  const sink = opts.sink;
  make<V1Service>({
    resource: 'services',
    path: '/api/v1/services',
    strip: stripService,
    labelSelector: SERVICE_SELECTOR,
    list: list('/api/v1/services', { labelSelector: SERVICE_SELECTOR }),
    onUpsert: (o) => sink.upsertService(o),
    onDelete: (o) => sink.deleteService(o),
  });
  if (opts.useEndpoints) {
    make<V1Endpoints>({
      resource: 'endpoints',
      path: '/api/v1/endpoints',
      strip: stripEndpoints,
      labelSelector: ENDPOINTS_SELECTOR,
      list: list('/api/v1/endpoints', { labelSelector: ENDPOINTS_SELECTOR }),
      onUpsert: (o) => sink.upsertEndpoints(o),
      onDelete: (o) => sink.deleteEndpoints(o),
    });
  } else {
    make<V1EndpointSlice>({
      resource: 'endpointslices',
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      strip: stripEndpointSlice,
      labelSelector: ENDPOINTS_SELECTOR,
      list: list('/apis/discovery.k8s.io/v1/endpointslices', { labelSelector: ENDPOINTS_SELECTOR }),
      onUpsert: (o) => sink.upsertEndpointSlice(o),
      onDelete: (o) => sink.deleteEndpointSlice(o),
    });
  }
  const nodeSelector = `metadata.name=${opts.nodeName}`;
  make<V1Node>({
    resource: 'nodes',
    path: '/api/v1/nodes',
    strip: stripNode,
    fieldSelector: nodeSelector,
    list: list('/api/v1/nodes', { fieldSelector: nodeSelector }),
    onUpsert: (o) => sink.upsertNode(o),
    onDelete: (o) => sink.deleteNode(o),
  });

  for (const i of informers) i.start();

  let resyncTimer: NodeJS.Timeout | undefined;
  if (opts.resyncPeriodMs > 0) {
    resyncTimer = setInterval(() => {
      if (!allSynced) return;
      log.v(4, 'periodic resync');
      for (const i of informers) i.resync();
      onEvent();
    }, opts.resyncPeriodMs);
    resyncTimer.unref();
  }

  return {
    synced: () => allSynced,
    stop: async () => {
      if (resyncTimer) clearInterval(resyncTimer);
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
