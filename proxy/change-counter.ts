// Wraps the model's event sink: counts changes for upstream's *_changes_total metrics and asks
// for a sync after each event. The model store itself stays free of metrics and scheduling.

import type { V1EndpointSlice, V1Endpoints, V1Node, V1Service } from '@kubernetes/client-node';
import type { ProxyMetrics } from '../sync/metrics.js';
import type { ClusterEventSink } from './model/events.js';

export function countingSink(inner: ClusterEventSink, metrics: ProxyMetrics, requestSync: () => void): ClusterEventSink {
  const svc = () => {
    metrics.serviceChangesTotal.inc();
    requestSync();
  };
  const eps = () => {
    metrics.endpointChangesTotal.inc();
    requestSync();
  };
  return {
    upsertService: (o: V1Service) => (inner.upsertService(o), svc()),
    deleteService: (o: V1Service) => (inner.deleteService(o), svc()),
    upsertEndpointSlice: (o: V1EndpointSlice) => (inner.upsertEndpointSlice(o), eps()),
    deleteEndpointSlice: (o: V1EndpointSlice) => (inner.deleteEndpointSlice(o), eps()),
    upsertEndpoints: (o: V1Endpoints) => (inner.upsertEndpoints(o), eps()),
    deleteEndpoints: (o: V1Endpoints) => (inner.deleteEndpoints(o), eps()),
    upsertNode: (o: V1Node) => (inner.upsertNode(o), requestSync()),
    deleteNode: (o: V1Node) => (inner.deleteNode(o), requestSync()),
  };
}
