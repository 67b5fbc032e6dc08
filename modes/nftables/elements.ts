// Identity and equality of set elements: the key (with an interval's end) names an element; data
// or verdict is its value. Keys are compared as hex so they can index Maps.

import { allocBytes, hex } from './bytes.js';
import type { NftElement, Verdict, VerdictCode } from './netlink/types.js';

export function elementKey(e: Pick<NftElement, 'key' | 'keyEnd'>): string {
  return e.keyEnd ? `${hex(e.key)}-${hex(e.keyEnd)}` : hex(e.key);
}

function verdictText(v: Verdict | undefined): string {
  return v ? `${v.code}${v.chain !== undefined ? ':' + v.chain : ''}` : '';
}

const NO_BYTES = new Uint8Array(0);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Same key and value (timeouts and comments do not make elements differ): what comparing
 * elementKey and the data's hex says, compared byte by byte instead. The planner calls this for
 * every element of every set on a full sync, and building four hex strings per call showed in a
 * CPU profile; no data and empty data are equal, as their hex ('') was.
 */
export function sameElement(a: NftElement, b: NftElement): boolean {
  if (!sameBytes(a.key, b.key)) return false;
  if (a.keyEnd ? !b.keyEnd || !sameBytes(a.keyEnd, b.keyEnd) : b.keyEnd) return false;
  return sameBytes(a.data ?? NO_BYTES, b.data ?? NO_BYTES) && verdictText(a.verdict) === verdictText(b.verdict);
}

export function elementMap(els: readonly NftElement[]): Map<string, NftElement> {
  return new Map(els.map((e) => [elementKey(e), e]));
}

/**
 * What the record (view.ts) and the rendered units keep of an element besides its key (the Map
 * key, elementKey): its value as text (elementValue) and, in units, its comment. Bytes are made
 * again only for the ops that send an element (toElement): two Uint8Arrays per element (~96 bytes
 * of heap each) and the element object were most of the nftables dataplane's retained heap, ~35
 * MiB of it at 10,000 services x 10 endpoints (issue #18).
 */
export interface KeptElement {
  readonly value: string;
  readonly comment: string | undefined;
}

/**
 * An element's value as text: the data's hex, then `:code` or `:code:chain` for a verdict. Two
 * elements with the same key are sameElement exactly when their values are equal strings.
 */
export function elementValue(e: Pick<NftElement, 'data' | 'verdict'>): string {
  const d = e.data && e.data.length ? hex(e.data) : '';
  const v = e.verdict;
  return v ? `${d}:${v.code}${v.chain !== undefined ? ':' + v.chain : ''}` : d;
}

/** The element's kept form (comment included; timeouts are never rendered on shared elements). */
export function keptElement(e: NftElement): KeptElement {
  return { value: elementValue(e), comment: e.comment };
}

const nibble = (c: number): number => (c <= 57 ? c - 48 : c - 87);

/** Inverse of hex (lower case, as hex writes it), into the shared slabs (bytes.ts allocBytes). */
function unhex(h: string): Uint8Array {
  const out = allocBytes(h.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (nibble(h.charCodeAt(2 * i)) << 4) | nibble(h.charCodeAt(2 * i + 1));
  return out;
}

const VERDICT_CODES: ReadonlySet<string> = new Set<VerdictCode>(['accept', 'drop', 'continue', 'return', 'jump', 'goto']);

function verdictCode(text: string): VerdictCode {
  if (!VERDICT_CODES.has(text)) throw new Error(`not a verdict: ${JSON.stringify(text)}`);
  return text as VerdictCode;
}

/** The element to send (or to show) for a key (elementKey) and a value (elementValue). */
export function toElement(key: string, value: string, comment?: string): NftElement {
  const dash = key.indexOf('-');
  const colon = value.indexOf(':');
  const data = colon < 0 ? value : value.slice(0, colon);
  let verdict: Verdict | undefined;
  if (colon >= 0) {
    const rest = value.slice(colon + 1);
    const c = rest.indexOf(':');
    verdict = c < 0 ? { code: verdictCode(rest) } : { code: verdictCode(rest.slice(0, c)), chain: rest.slice(c + 1) };
  }
  return {
    key: unhex(dash < 0 ? key : key.slice(0, dash)),
    ...(dash >= 0 ? { keyEnd: unhex(key.slice(dash + 1)) } : {}),
    ...(data ? { data: unhex(data) } : {}),
    ...(verdict ? { verdict } : {}),
    ...(comment !== undefined ? { comment } : {}),
  };
}
