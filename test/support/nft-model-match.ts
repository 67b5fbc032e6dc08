// Compares `nft --json list table <family> kube-proxy` with what the model implies (the rendered
// units): exact set equality of chain names, set/map names, and every set's elements and map's
// entries, in one canonical text form for both sides. Endpoint maps are compared as their values
// with keys 0..N-1 (which index an endpoint holds depends on the history of syncs); dynamic
// (affinity) sets only by name, since packets fill them.

import { toElement } from '../../modes/nftables/elements.js';
import { formatIP, readPort, readU32Host } from '../../modes/nftables/bytes.js';
import type { NftElement, NftSet, Verdict } from '../../modes/nftables/netlink/types.js';
import type { Unit } from '../../modes/nftables/ruleset.js';
import { classesOf } from '../../modes/nftables/render/classes.js';
import type { IPFamily } from '../../proxy/model/types.js';

/** Object id ("chain X", "set X") → its canonical elements (empty for chains). */
export type TableContents = Map<string, string[]>;

const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

function verdictText(v: Verdict): string {
  return v.chain !== undefined ? `${v.code} ${v.chain}` : v.code;
}

/** Field types of a key, outermost first (6 bits each, as nft concatenates them). */
function fieldTypes(t: number): number[] {
  const out: number[] = [];
  for (let x = t; x > 0; x = Math.floor(x / 64)) out.unshift(x % 64);
  return out;
}

function fieldText(type: number, b: Uint8Array): string {
  if (type === 7 || type === 8) return formatIP(b);
  if (type === 12) return PROTO[b[0]!] ?? String(b[0]);
  if (type === 13) return String(readPort(b, 0));
  return String(readU32Host(b));
}

/** nft prints an interval field as its value (start = end), a prefix, or a range. */
function rangeText(type: number, start: Uint8Array, end: Uint8Array): string {
  const s = fieldText(type, start);
  const e = fieldText(type, end);
  if (s === e) return s;
  if (type === 7 || type === 8) {
    let len = 0;
    while (len < start.length * 8 && ((start[len >> 3]! ^ end[len >> 3]!) & (0x80 >> (len & 7))) === 0) len++;
    return `${s}/${len}`;
  }
  return `${s}-${e}`;
}

function keyText(set: NftSet, e: NftElement): string {
  const types = fieldTypes(set.keyType);
  const widths = types.map((t, i) => set.concat?.[i] ?? (t === 7 ? 4 : t === 8 ? 16 : t === 12 ? 1 : t === 13 ? 2 : 4));
  const parts: string[] = [];
  let off = 0;
  types.forEach((t, i) => {
    const w = widths[i]!;
    const start = e.key.slice(off, off + w);
    parts.push(e.keyEnd ? rangeText(t, start, e.keyEnd.slice(off, off + w)) : fieldText(t, start));
    off += (w + 3) & ~3;
  });
  return parts.join(' . ');
}

function dataText(set: NftSet, e: NftElement): string | undefined {
  if (e.verdict) return verdictText(e.verdict);
  if (!e.data || !set.data || set.data.type === 'verdict') return undefined;
  const types = fieldTypes(set.data.type);
  const parts: string[] = [];
  let off = 0;
  for (const t of types) {
    const w = t === 7 ? 4 : t === 8 ? 16 : t === 13 ? 2 : 4;
    parts.push(fieldText(t, e.data.slice(off, off + w)));
    off += (w + 3) & ~3;
  }
  return parts.join(' . ');
}

const isEndpointMap = (name: string): boolean => /^(local-)?endpoints-/.test(name);
/** The shared endpoint maps of the count classes: keyed by destination . numgen slot. */
const isSlotMap = (name: string): boolean => /^(nodeport-)?(cluster|local)-endpoints$/.test(name);

/**
 * Endpoint maps: "keys 0..N-1" plus the sorted values (per destination in the shared slot maps);
 * others: sorted "key : value" lines.
 */
function canonicalEntries(name: string, entries: readonly [string, string | undefined][]): string[] {
  if (isSlotMap(name)) {
    const byDest = new Map<string, [string, string | undefined][]>();
    for (const [k, v] of entries) {
      const cut = k.lastIndexOf(' . ');
      const dest = k.slice(0, cut);
      let l = byDest.get(dest);
      if (!l) byDest.set(dest, (l = []));
      l.push([k.slice(cut + 3), v]);
    }
    return [...byDest].flatMap(([dest, l]) => canonicalEntries(`endpoints-${dest}`, l).map((x) => `${dest}: ${x}`)).sort();
  }
  if (isEndpointMap(name)) {
    const keys = entries.map(([k]) => Number(k)).sort((a, b) => a - b);
    return [`keys ${keys.every((k, i) => k === i) ? `0..${keys.length - 1}` : keys.join(',')}`, ...entries.map(([, v]) => `=> ${v}`).sort()];
  }
  return entries.map(([k, v]) => (v === undefined ? k : `${k} : ${v}`)).sort();
}

/** What the rendered units say the table holds. */
export function expectedContents(units: readonly Unit[]): TableContents {
  const out: TableContents = new Map();
  const shared = new Map<string, Map<string, string | undefined>>();
  const defs = new Map<string, NftSet>();
  for (const u of units) {
    for (const c of u.chains) out.set(`chain ${c.name}`, []);
    for (const s of u.sets) defs.set(s.set.name, s.set);
  }
  for (const u of units) {
    for (const s of u.sets) {
      if (s.shared) continue;
      const entries = s.set.dynamic ? [] : [...s.elements.values()].map((e): [string, string | undefined] => [keyText(s.set, e), dataText(s.set, e)]);
      out.set(`set ${s.set.name}`, canonicalEntries(s.set.name, entries));
    }
    for (const [name, els] of u.shared) {
      const def = defs.get(name);
      if (!def) throw new Error(`unit ${u.owner} adds to ${name}, which no unit defines`);
      let m = shared.get(name);
      if (!m) shared.set(name, (m = new Map()));
      for (const [k, kept] of els) {
        const e = toElement(k, kept.value, kept.comment);
        m.set(keyText(def, e), dataText(def, e));
      }
    }
  }
  for (const u of units) for (const s of u.sets) if (s.shared) out.set(`set ${s.set.name}`, canonicalEntries(s.set.name, [...(shared.get(s.set.name) ?? new Map())]));
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One nft JSON value (an element's key or a map's value) in the canonical text form. */
function jsonText(v: Json): string {
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map(jsonText).join(', ');
  const [k, inner] = Object.entries(v)[0] ?? ['', null];
  switch (k) {
    case 'concat':
      return (inner as Json[]).map(jsonText).join(' . ');
    case 'prefix': {
      const p = inner as { addr: Json; len: Json };
      return `${jsonText(p.addr)}/${jsonText(p.len)}`;
    }
    case 'range': {
      const [a, b] = inner as [Json, Json];
      return `${jsonText(a)}-${jsonText(b)}`;
    }
    case 'elem':
      return jsonText((inner as { val: Json }).val);
    case 'goto':
    case 'jump':
      return `${k} ${jsonText((inner as { target: Json }).target)}`;
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
      return k;
    default:
      return JSON.stringify(v);
  }
}

/** What `nft --json list table` shows, in the same form. */
export function actualContents(nftJson: string): TableContents {
  const doc = JSON.parse(nftJson) as { nftables: Record<string, Record<string, Json>>[] };
  const out: TableContents = new Map();
  for (const obj of doc.nftables) {
    if (obj['chain']) out.set(`chain ${String(obj['chain']['name'])}`, []);
    const s = obj['set'] ?? obj['map'];
    if (!s) continue;
    const name = String(s['name']);
    const flags = (s['flags'] as Json[] | undefined) ?? [];
    const dynamic = flags.includes('dynamic');
    const elems = dynamic ? [] : ((s['elem'] as Json[] | undefined) ?? []);
    const entries = elems.map((e): [string, string | undefined] => (obj['map'] ? [jsonText((e as Json[])[0]!), jsonText((e as Json[])[1]!)] : [jsonText(e), undefined]));
    out.set(`set ${name}`, canonicalEntries(name, entries));
  }
  return out;
}

/** Human-readable differences (empty when the table is exactly what the model implies). */
export function diffContents(expected: TableContents, actual: TableContents): string[] {
  const diffs: string[] = [];
  for (const [id, want] of expected) {
    const have = actual.get(id);
    if (!have) {
      diffs.push(`missing ${id}`);
      continue;
    }
    const h = new Set(have);
    const w = new Set(want);
    for (const x of want) if (!h.has(x)) diffs.push(`${id}: missing ${x}`);
    for (const x of have) if (!w.has(x)) diffs.push(`${id}: stale ${x}`);
  }
  for (const id of actual.keys()) if (!expected.has(id)) diffs.push(`stale ${id}`);
  return diffs;
}

/** The units plus a unit for the count classes their memberships imply (sets only: no chains of their own). */
export function withClasses(f: IPFamily, units: readonly Unit[]): Unit[] {
  const { sets } = classesOf(f, units);
  const classes: Unit = { owner: '#classes', chains: [], sets: sets.map((set) => ({ set, elements: new Map(), shared: true })), shared: new Map(), noLocal: { internal: false, external: false } };
  return [...units, classes];
}
