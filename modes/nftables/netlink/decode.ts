// nf_tables dump replies (NEWTABLE/NEWCHAIN/NEWRULE/NEWSET/NEWSETELEM as the kernel sends them)
// back into the model, in the canonical form the encoders start from: what the kernel adds on
// its own (handles aside) — use counts, set backends, element counts, implied defaults — is left
// out, so a dumped object compares equal to the rendered one. Note the kernel's dump nests do
// not carry NLA_F_NESTED; the attribute parser does not rely on it.

import { attrIndex, getString, parseAttrs, type AttrLookup } from '../../shared/netlink/attr.js';
import type { NlMsg } from '../../shared/netlink/nlmsg.js';
import * as C from './constants.js';
import { readExpr, readVerdict, UnknownExprError } from './expr.js';
import { familyName, HOOK_NAMES } from './messages.js';
import type { BaseChainSpec, Expr, NftChain, NftElement, NftFamily, NftRule, NftSet, NftTable } from './types.js';
import { readUdataString } from './udata.js';

/** The nfgenmsg family and the attributes after it. */
function body(msg: NlMsg): { family: NftFamily; attrs: AttrLookup } {
  if (msg.payload.length < 4) throw new Error(`nf_tables message too short (${msg.payload.length} bytes)`);
  return { family: familyName(msg.payload[0] ?? 0), attrs: attrIndex(msg.payload.subarray(4)) };
}

function str(a: AttrLookup, t: number, what: string): string {
  const p = a.get(t);
  if (!p) throw new Error(`${what}: missing attribute ${t}`);
  return getString(p);
}

const be64 = (p: Buffer | undefined): bigint | undefined => (p && p.length >= 8 ? p.readBigUInt64BE(0) : undefined);
const be32 = (p: Buffer | undefined): number | undefined => (p && p.length >= 4 ? p.readUInt32BE(0) : undefined);

/** The message type without the subsystem byte (NFT_MSG_*). */
export const nftMsg = (msg: NlMsg): number => msg.type & 0xff;

export function decodeTable(msg: NlMsg): NftTable {
  const { family, attrs } = body(msg);
  const handle = be64(attrs.get(C.NFTA_TABLE_HANDLE));
  const ud = attrs.get(C.NFTA_TABLE_USERDATA);
  const comment = ud ? readUdataString(ud, C.NFTNL_UDATA_TABLE_COMMENT) : undefined;
  return {
    family,
    name: str(attrs, C.NFTA_TABLE_NAME, 'table'),
    ...(comment !== undefined ? { comment } : {}),
    ...(handle !== undefined ? { handle } : {}),
  };
}

export function decodeChain(msg: NlMsg): NftChain {
  const { family, attrs } = body(msg);
  const name = str(attrs, C.NFTA_CHAIN_NAME, 'chain');
  let base: BaseChainSpec | undefined;
  const hook = attrs.get(C.NFTA_CHAIN_HOOK);
  if (hook) {
    const h = attrIndex(hook);
    const num = be32(h.get(C.NFTA_HOOK_HOOKNUM)) ?? -1;
    const hookName = HOOK_NAMES[num];
    if (!hookName) throw new Error(`chain ${name}: hook ${num} is not one this project uses`);
    const type = str(attrs, C.NFTA_CHAIN_TYPE, `chain ${name}`);
    if (type !== 'filter' && type !== 'nat' && type !== 'route') throw new Error(`chain ${name}: type ${type}`);
    const priority = (h.get(C.NFTA_HOOK_PRIORITY) ?? Buffer.alloc(4)).readInt32BE(0);
    const policy = be32(attrs.get(C.NFTA_CHAIN_POLICY));
    // Canonical: accept is the kernel's default policy and is left out.
    base = { type, hook: hookName, priority, ...(policy === C.NF_DROP ? { policy: 'drop' as const } : {}) };
  }
  const handle = be64(attrs.get(C.NFTA_CHAIN_HANDLE));
  const ud = attrs.get(C.NFTA_CHAIN_USERDATA);
  const comment = ud ? readUdataString(ud, C.NFTNL_UDATA_CHAIN_COMMENT) : undefined;
  return {
    family,
    table: str(attrs, C.NFTA_CHAIN_TABLE, `chain ${name}`),
    name,
    ...(base ? { base } : {}),
    ...(comment !== undefined ? { comment } : {}),
    ...(handle !== undefined ? { handle } : {}),
  };
}

export function decodeRule(msg: NlMsg): NftRule {
  const { family, attrs } = body(msg);
  const table = str(attrs, C.NFTA_RULE_TABLE, 'rule');
  const chain = str(attrs, C.NFTA_RULE_CHAIN, 'rule');
  const handle = be64(attrs.get(C.NFTA_RULE_HANDLE));
  const exprs: Expr[] = [];
  let undecodable: string | undefined;
  for (const e of parseAttrs(attrs.get(C.NFTA_RULE_EXPRESSIONS) ?? Buffer.alloc(0))) {
    try {
      exprs.push(readExpr(e.payload));
    } catch (err) {
      if (!(err instanceof UnknownExprError)) throw err;
      undecodable ??= err.message;
    }
  }
  const ud = attrs.get(C.NFTA_RULE_USERDATA);
  const comment = ud ? readUdataString(ud, C.NFTNL_UDATA_RULE_COMMENT) : undefined;
  return {
    family,
    table,
    chain,
    exprs,
    ...(comment !== undefined ? { comment } : {}),
    ...(handle !== undefined ? { handle } : {}),
    ...(undecodable !== undefined ? { undecodable } : {}),
  };
}

/** Only the handle of a NEWRULE (the echo of an add): no need to decode the expressions. */
export function ruleHandle(msg: NlMsg): bigint | undefined {
  return be64(attrIndex(msg.payload.subarray(4)).get(C.NFTA_RULE_HANDLE));
}

/** The kernel's size for a timeout or dynamic set created without one (seen on 6.18). */
const DYNAMIC_DEFAULT_SIZE = 65535;

export function decodeSet(msg: NlMsg): NftSet {
  const { family, attrs } = body(msg);
  const name = str(attrs, C.NFTA_SET_NAME, 'set');
  const flags = be32(attrs.get(C.NFTA_SET_FLAGS)) ?? 0;
  const keyType = be32(attrs.get(C.NFTA_SET_KEY_TYPE)) ?? 0;
  const keyLen = be32(attrs.get(C.NFTA_SET_KEY_LEN)) ?? 0;
  let data: NftSet['data'];
  if (flags & C.NFT_SET_MAP) {
    const dt = be32(attrs.get(C.NFTA_SET_DATA_TYPE)) ?? 0;
    const dl = be32(attrs.get(C.NFTA_SET_DATA_LEN)) ?? 0;
    data = dt === C.NFT_DATA_VERDICT ? { type: 'verdict', len: 0 } : { type: dt, len: dl };
  }
  let concat: number[] | undefined;
  let size: number | undefined;
  const desc = attrs.get(C.NFTA_SET_DESC);
  if (desc) {
    const d = attrIndex(desc);
    size = be32(d.get(C.NFTA_SET_DESC_SIZE));
    if (size === DYNAMIC_DEFAULT_SIZE && flags & (C.NFT_SET_EVAL | C.NFT_SET_TIMEOUT)) size = undefined;
    const cc = d.get(C.NFTA_SET_DESC_CONCAT);
    if (cc) concat = parseAttrs(cc).map((f) => be32(attrIndex(f.payload).get(C.NFTA_SET_FIELD_LEN)) ?? 0);
  }
  const timeout = be64(attrs.get(C.NFTA_SET_TIMEOUT));
  const handle = be64(attrs.get(C.NFTA_SET_HANDLE));
  const ud = attrs.get(C.NFTA_SET_USERDATA);
  const comment = ud ? readUdataString(ud, C.NFTNL_UDATA_SET_COMMENT) : undefined;
  return {
    family,
    table: str(attrs, C.NFTA_SET_TABLE, `set ${name}`),
    name,
    keyType,
    keyLen,
    ...(concat && concat.length ? { concat } : {}),
    ...(data ? { data } : {}),
    ...(flags & C.NFT_SET_INTERVAL ? { interval: true } : {}),
    ...(flags & C.NFT_SET_TIMEOUT ? { timeout: true } : {}),
    ...(timeout !== undefined && timeout > 0n ? { timeoutMs: Number(timeout) } : {}),
    ...(flags & C.NFT_SET_EVAL ? { dynamic: true } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(comment !== undefined ? { comment } : {}),
    ...(handle !== undefined ? { handle } : {}),
  };
}

export interface DecodedElements {
  readonly family: NftFamily;
  readonly table: string;
  readonly set: string;
  readonly elements: NftElement[];
}

/**
 * One NEWSETELEM message of a dump. `setTimeoutMs` is the set's default timeout: an element
 * timeout equal to it is left out (the kernel may report the default on every element).
 */
export function decodeElements(msg: NlMsg, setTimeoutMs?: number): DecodedElements {
  const { family, attrs } = body(msg);
  const elements: NftElement[] = [];
  for (const item of parseAttrs(attrs.get(C.NFTA_SET_ELEM_LIST_ELEMENTS) ?? Buffer.alloc(0))) {
    const a = attrIndex(item.payload);
    const keyNest = a.get(C.NFTA_SET_ELEM_KEY);
    const key = keyNest && attrIndex(keyNest).get(C.NFTA_DATA_VALUE);
    if (!key) continue; // the catch-all element has no key; we never create one
    const keyEndNest = a.get(C.NFTA_SET_ELEM_KEY_END);
    const keyEnd = keyEndNest && attrIndex(keyEndNest).get(C.NFTA_DATA_VALUE);
    const flags = be32(a.get(C.NFTA_SET_ELEM_FLAGS)) ?? 0;
    let data: Uint8Array | undefined;
    let verdict: NftElement['verdict'];
    const dataNest = a.get(C.NFTA_SET_ELEM_DATA);
    if (dataNest) {
      const d = attrIndex(dataNest);
      const v = d.get(C.NFTA_DATA_VERDICT);
      if (v) verdict = readVerdict(v);
      const value = d.get(C.NFTA_DATA_VALUE);
      if (value) data = new Uint8Array(value);
    }
    const timeout = be64(a.get(C.NFTA_SET_ELEM_TIMEOUT));
    const expiration = be64(a.get(C.NFTA_SET_ELEM_EXPIRATION));
    const ud = a.get(C.NFTA_SET_ELEM_USERDATA);
    const comment = ud ? readUdataString(ud, C.NFTNL_UDATA_SET_ELEM_COMMENT) : undefined;
    const timeoutMs = timeout !== undefined && timeout > 0n ? Number(timeout) : undefined;
    elements.push({
      key: new Uint8Array(key),
      ...(keyEnd ? { keyEnd: new Uint8Array(keyEnd) } : {}),
      ...(flags & C.NFT_SET_ELEM_INTERVAL_END ? { intervalEnd: true } : {}),
      ...(data ? { data } : {}),
      ...(verdict ? { verdict } : {}),
      ...(timeoutMs !== undefined && timeoutMs !== setTimeoutMs ? { timeoutMs } : {}),
      ...(expiration !== undefined ? { expiresMs: Number(expiration) } : {}),
      ...(comment !== undefined ? { comment } : {}),
    });
  }
  return {
    family,
    table: str(attrs, C.NFTA_SET_ELEM_LIST_TABLE, 'elements'),
    set: str(attrs, C.NFTA_SET_ELEM_LIST_SET, 'elements'),
    elements,
  };
}

/** NEWGEN: the ruleset generation id. */
export function decodeGenId(msg: NlMsg): number {
  return be32(body0(msg).get(C.NFTA_GEN_ID)) ?? 0;
}

function body0(msg: NlMsg): AttrLookup {
  return attrIndex(msg.payload.subarray(4));
}
