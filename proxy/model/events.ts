// The boundary between the watch layer and the model: informer handlers call these, and they only
// record the change (upstream's "record now, apply at sync time"). Implemented by the model store.

import type { V1EndpointSlice, V1Endpoints, V1Node, V1Service } from '@kubernetes/client-node';

export interface ClusterEventSink {
  upsertService(svc: V1Service): void;
  deleteService(svc: V1Service): void;
  upsertEndpointSlice(slice: V1EndpointSlice): void;
  deleteEndpointSlice(slice: V1EndpointSlice): void;
  /** Legacy v1 Endpoints, used instead of EndpointSlices with --use-endpoints. */
  upsertEndpoints(ep: V1Endpoints): void;
  deleteEndpoints(ep: V1Endpoints): void;
  upsertNode(node: V1Node): void;
  deleteNode(node: V1Node): void;
}
