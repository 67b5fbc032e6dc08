// Helpers for tests that consume the watch layer: a sink that records what it was told, and a
// poller (tests wait for conditions, never for wall-clock durations).

import { KubeConfig } from '@kubernetes/client-node';
import type { V1EndpointSlice, V1Endpoints, V1Node, V1Service } from '@kubernetes/client-node';
import type { ClusterEventSink } from '../../proxy/model/events.js';
import { kubeconfigFor, type KubeconfigOptions, type TestApiServer } from './index.js';

export type Op = 'upsert' | 'delete';
export type Kind = 'Service' | 'EndpointSlice' | 'Endpoints' | 'Node';

export interface Recorded {
  readonly op: Op;
  readonly kind: Kind;
  /** namespace/name ("" namespace for nodes) */
  readonly key: string;
  readonly rv: string;
  readonly obj: V1Service | V1EndpointSlice | V1Endpoints | V1Node;
}

export class RecordingSink implements ClusterEventSink {
  readonly events: Recorded[] = [];
  /** The state the sink believes in: key -> last upserted object. */
  readonly state = new Map<string, Recorded>();

  private rec(op: Op, kind: Kind, obj: Recorded['obj']): void {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const r = { op, kind, key, rv: obj.metadata?.resourceVersion ?? '', obj };
    this.events.push(r);
    if (op === 'upsert') this.state.set(`${kind}:${key}`, r);
    else this.state.delete(`${kind}:${key}`);
  }

  upsertService = (o: V1Service): void => this.rec('upsert', 'Service', o);
  deleteService = (o: V1Service): void => this.rec('delete', 'Service', o);
  upsertEndpointSlice = (o: V1EndpointSlice): void => this.rec('upsert', 'EndpointSlice', o);
  deleteEndpointSlice = (o: V1EndpointSlice): void => this.rec('delete', 'EndpointSlice', o);
  upsertEndpoints = (o: V1Endpoints): void => this.rec('upsert', 'Endpoints', o);
  deleteEndpoints = (o: V1Endpoints): void => this.rec('delete', 'Endpoints', o);
  upsertNode = (o: V1Node): void => this.rec('upsert', 'Node', o);
  deleteNode = (o: V1Node): void => this.rec('delete', 'Node', o);

  has(kind: Kind, key: string): boolean {
    return this.state.has(`${kind}:${key}`);
  }
  get(kind: Kind, key: string): Recorded | undefined {
    return this.state.get(`${kind}:${key}`);
  }
  deletes(kind?: Kind): Recorded[] {
    return this.events.filter((e) => e.op === 'delete' && (kind === undefined || e.kind === kind));
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function kubeConfigOf(server: TestApiServer, opts?: KubeconfigOptions): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigFor(server, opts));
  return kc;
}
