// The bounded change history a watch replays from. Like etcd's compaction window, events older
// than the window are gone, and a watch asking for them gets "410 Gone" and must re-list.

import type { ResourceName } from './resources.js';

export type KubeJson = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

export interface StoredEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: ResourceName;
  readonly rv: number;
  readonly object: KubeJson;
  /** The object before a MODIFIED, so label-selected watches can turn it into ADDED/DELETED. */
  readonly previous: KubeJson | undefined;
}

export class EventHistory {
  private events: StoredEvent[] = [];
  /** Every event with rv > floor is still retained. */
  private floor = 0;

  constructor(private readonly capacity: number) {}

  push(e: StoredEvent): void {
    this.events.push(e);
    while (this.events.length > this.capacity) {
      const dropped = this.events.shift();
      if (dropped) this.floor = dropped.rv;
    }
  }

  /** Forget everything up to and including `currentRv`. */
  compact(currentRv: number): void {
    this.events = this.events.filter((e) => e.rv > currentRv);
    this.floor = Math.max(this.floor, currentRv);
  }

  /** Events newer than `rv`, or 'expired' when some of them were already dropped. */
  since(rv: number): readonly StoredEvent[] | 'expired' {
    if (rv < this.floor) return 'expired';
    return this.events.filter((e) => e.rv > rv);
  }

  oldestAvailable(): number {
    return this.floor;
  }
}
