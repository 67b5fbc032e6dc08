// Chain names and rule comments for iptables mode.
//
// Names must match upstream kube-proxy byte for byte: tooling, dashboards and operators grep for
// them, and a node switching between upstream and this proxy must recognise its own chains.
// Upstream hashes with sha256, encodes with base32 (RFC 4648 standard alphabet) and keeps 16
// characters, so every name stays within iptables' 28-character chain-name limit.

import { createHash } from 'node:crypto';
import type { Protocol } from '../../proxy/model/types.js';
import { tokenize } from './save-parse.js';

export const CHAIN_PREFIX = {
  svc: 'KUBE-SVC-',
  svl: 'KUBE-SVL-',
  ext: 'KUBE-EXT-',
  fw: 'KUBE-FW-',
  sep: 'KUBE-SEP-',
  /** The pre-1.24 name of the external chain: never created, only cleaned up. */
  xlb: 'KUBE-XLB-',
} as const;

/** Prefixes of per-service chains this proxy owns in the nat table. */
export const SERVICE_CHAIN_PREFIXES: readonly string[] = Object.values(CHAIN_PREFIX);

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * RFC 4648 base32 with the standard alphabet (padding omitted: we only keep a prefix). Built from
 * character codes in one step: appending a character at a time makes every string of 13+
 * characters a rope (one 32-byte node per character past the 12th), which the hash memo and
 * every recorded chain name then kept, plus the flat copy V8 makes when it is first hashed.
 */
export function base32(bytes: Uint8Array): string {
  const codes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      codes.push(BASE32_CODES[(acc >>> (bits - 5)) & 31]!);
      bits -= 5;
    }
  }
  if (bits > 0) codes.push(BASE32_CODES[(acc << (5 - bits)) & 31]!);
  return String.fromCharCode(...codes);
}

const BASE32_CODES: readonly number[] = [...BASE32].map((c) => c.charCodeAt(0));

// Service port hashes are memoized: nftables mode renders them again on every full sync (one
// per service port). The function is pure, so a memo returns identical names; it is bounded
// (cleared when full). Endpoint chain names are not: iptables mode, their only user, keeps them
// in its record and computes them only for a service port it renders, and a memo of one entry
// per endpoint ever seen was ~22 MiB of the daemon's heap at 10,000 services x 10 endpoints that
// grew with every endpoint replaced (its keys name the endpoint's address) until it was cleared.
const HASH_MEMO_MAX = 1 << 17;
const hashMemo = new Map<string, string>();

function memoHash16(input: string): string {
  const hit = hashMemo.get(input);
  if (hit !== undefined) return hit;
  const h = hash16(input);
  if (hashMemo.size >= HASH_MEMO_MAX) hashMemo.clear();
  hashMemo.set(input, h);
  return h;
}

function hash16(input: string): string {
  // The first 10 bytes are exactly the first 16 base32 characters (80 bits): encoding only them
  // gives a flat 16-character string, where slicing the full encoding kept a view on its 52
  // characters in every memo entry and every recorded chain name.
  return base32(createHash('sha256').update(input).digest().subarray(0, 10));
}

/** Entries in the service port hash memo (for tests: endpoint names must not add any). */
export function hashMemoSize(): number {
  return hashMemo.size;
}

/** The hash shared by a service port's SVC/SVL/EXT/FW chains: servicePortName + lowercase protocol. */
export function servicePortHash(servicePortName: string, protocol: Protocol): string {
  // join() gives a flat memo key; `a + b` of 13+ characters is a rope kept beside its flat copy.
  return memoHash16([servicePortName, protocol.toLowerCase()].join(''));
}

export interface ServicePortChains {
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
}

export function servicePortChains(servicePortName: string, protocol: Protocol): ServicePortChains {
  const h = servicePortHash(servicePortName, protocol);
  return { svc: flatJoin(CHAIN_PREFIX.svc, h), svl: flatJoin(CHAIN_PREFIX.svl, h), ext: flatJoin(CHAIN_PREFIX.ext, h), fw: flatJoin(CHAIN_PREFIX.fw, h) };
}

/**
 * KUBE-SEP-<hash of servicePortName + protocol + "ip:port">, where IPv6 endpoints are bracketed
 * ("[2001:db8::1]:80") like upstream's Endpoint.String().
 */
export function endpointChainName(servicePortName: string, protocol: Protocol, endpoint: string): string {
  return flatJoin(CHAIN_PREFIX.sep, hash16([servicePortName, protocol.toLowerCase(), endpoint].join('')));
}

/** `a + b` as one flat string (chain names are kept per endpoint and used as map keys). */
function flatJoin(a: string, b: string): string {
  return [a, b].join('');
}

export function isServiceChain(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

const MAX_COMMENT = 256;
/** Any character the replaces below remove. */
const UNSAFE_CHARACTER = /[^\x20-\x7e]|["'\\`]/;

/**
 * Make text safe inside `-m comment --comment "..."`: Kubernetes names are already restricted,
 * but the text also flows from port names and could come from a misbehaving API server, so
 * quotes, backslashes and anything non-printable are dropped and the length is bounded by the
 * xt_comment limit (256 bytes including the terminator; we keep 255 ASCII characters).
 */
export function sanitizeComment(text: string): string {
  // Nearly every comment is clean already: one test instead of two replaces (about 20 comments
  // are rendered per changed service port, and the replaces built a copy of each).
  if (text.length < MAX_COMMENT && !UNSAFE_CHARACTER.test(text)) return text;
  const clean = text.replace(/[^\x20-\x7e]/g, '').replace(/["'\\`]/g, '');
  return clean.slice(0, MAX_COMMENT - 1);
}

/** `-m comment --comment "<sanitized text>"` as restore-payload tokens. */
export function commentArgs(text: string): string {
  return `-m comment --comment "${sanitizeComment(text)}"`;
}

/**
 * The service key a rule belongs to: the first word of its comment, which every rule rendered
 * for a service port starts with its (sanitized) key. Undefined for a rule without a comment.
 */
export function commentKey(rule: string): string | undefined {
  const t = tokenize(rule);
  const i = t.indexOf('--comment');
  return i < 0 ? undefined : t[i + 1]?.split(' ', 1)[0];
}
