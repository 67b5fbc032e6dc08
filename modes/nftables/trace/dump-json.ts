// Our table's netlink dump as JSON, so that the daemon can hand it to `kube-proxy-ts trace`
// (/debug/rules in nftables mode) and the tracer can run outside the daemon. Byte strings travel
// as {"$hex": "..."} and kernel handles/counters (bigint) as {"$big": "..."}.

import type { NftTableDump } from '../netlink/types.js';

interface Wire {
  readonly table: unknown;
  readonly chains: unknown;
  readonly rules: unknown;
  readonly sets: unknown;
  readonly elements: Record<string, unknown>;
}

export function dumpToJson(d: NftTableDump): string {
  const wire: Wire = { table: d.table, chains: d.chains, rules: d.rules, sets: d.sets, elements: Object.fromEntries(d.elements) };
  return JSON.stringify(wire, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return { $hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
    if (typeof v === 'bigint') return { $big: v.toString() };
    return v;
  });
}

export function dumpFromJson(text: string): NftTableDump {
  const wire = JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o['$hex'] === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o['$hex'], 'hex'));
      if (typeof o['$big'] === 'string' && Object.keys(o).length === 1) return BigInt(o['$big']);
    }
    return v;
  }) as Partial<Wire>;
  if (!wire || !Array.isArray(wire.chains) || !Array.isArray(wire.rules) || !Array.isArray(wire.sets) || typeof wire.elements !== 'object') {
    throw new Error('not an nftables table dump (expected {table, chains, rules, sets, elements})');
  }
  return {
    table: wire.table as NftTableDump['table'],
    chains: wire.chains as NftTableDump['chains'],
    rules: wire.rules as NftTableDump['rules'],
    sets: wire.sets as NftTableDump['sets'],
    elements: new Map(Object.entries(wire.elements) as [string, NftTableDump['elements'] extends ReadonlyMap<string, infer E> ? E : never][]),
  };
}
