// nf_tables request messages, written straight into an NlWriter: nlmsghdr + nfgenmsg + the
// object's attributes in the order libnftnl writes them (golden tests compare with nft's
// bytes). Pure: no socket, no state beyond what the caller passes.

import type { NlWriter } from '../../shared/netlink/writer.js';
import * as C from './constants.js';
import { writeExpr, writeVerdict, type EncodeContext } from './expr.js';
import type { NftChain, NftElement, NftFamily, NftRule, NftSet, NftTable } from './types.js';
import { NFTNL_UDATA_COMMENT, setUdata } from './udata.js';

export const FAMILY_NUMBERS: Readonly<Record<NftFamily, number>> = {
  ip: C.NFPROTO_IPV4,
  ip6: C.NFPROTO_IPV6,
  inet: C.NFPROTO_INET,
};

export function familyName(n: number): NftFamily {
  switch (n) {
    case C.NFPROTO_IPV4:
      return 'ip';
    case C.NFPROTO_IPV6:
      return 'ip6';
    case C.NFPROTO_INET:
      return 'inet';
    default:
      throw new Error(`nf_tables family ${n} is not one this project uses`);
  }
}

const HOOKS = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
export const HOOK_NAMES = ['prerouting', 'input', 'forward', 'output', 'postrouting'] as const;

/** Begin an nf_tables message: header + nfgenmsg (res_id 0). */
function begin(w: NlWriter, msg: number, flags: number, seq: number, family: number): number {
  const at = w.beginMsg(C.nftMsgType(msg), flags, seq);
  w.nfgenmsg(family, 0);
  return at;
}

export function writeBatchBegin(w: NlWriter, seq: number): void {
  const at = w.beginMsg(C.NFNL_MSG_BATCH_BEGIN, 0x01 /* NLM_F_REQUEST */, seq);
  w.nfgenmsg(C.NFPROTO_UNSPEC, C.NFNL_SUBSYS_NFTABLES);
  w.endMsg(at);
}

export function writeBatchEnd(w: NlWriter, seq: number): void {
  const at = w.beginMsg(C.NFNL_MSG_BATCH_END, 0x01 /* NLM_F_REQUEST */, seq);
  w.nfgenmsg(C.NFPROTO_UNSPEC, C.NFNL_SUBSYS_NFTABLES);
  w.endMsg(at);
}

// --- tables -------------------------------------------------------------------------------------

export function writeTable(w: NlWriter, msg: number, flags: number, seq: number, t: NftTable): void {
  const at = begin(w, msg, flags, seq, FAMILY_NUMBERS[t.family]);
  w.string(C.NFTA_TABLE_NAME, t.name);
  if (msg === C.NFT_MSG_NEWTABLE) {
    w.be32(C.NFTA_TABLE_FLAGS, 0);
    if (t.comment !== undefined) w.tlvString(C.NFTA_TABLE_USERDATA, NFTNL_UDATA_COMMENT, t.comment);
  }
  w.endMsg(at);
}

// --- chains -------------------------------------------------------------------------------------

export function writeChain(w: NlWriter, msg: number, flags: number, seq: number, c: NftChain): void {
  const at = begin(w, msg, flags, seq, FAMILY_NUMBERS[c.family]);
  w.string(C.NFTA_CHAIN_TABLE, c.table);
  w.string(C.NFTA_CHAIN_NAME, c.name);
  if (msg === C.NFT_MSG_NEWCHAIN) {
    if (c.base) {
      w.string(C.NFTA_CHAIN_TYPE, c.base.type);
      if (c.base.policy !== undefined) w.be32(C.NFTA_CHAIN_POLICY, c.base.policy === 'accept' ? C.NF_ACCEPT : C.NF_DROP);
      const hook = w.beginNest(C.NFTA_CHAIN_HOOK);
      w.be32(C.NFTA_HOOK_HOOKNUM, HOOKS[c.base.hook]);
      w.be32(C.NFTA_HOOK_PRIORITY, c.base.priority);
      w.endNest(hook);
    }
    if (c.comment !== undefined) w.tlvString(C.NFTA_CHAIN_USERDATA, NFTNL_UDATA_COMMENT, c.comment);
  }
  w.endMsg(at);
}

// --- rules --------------------------------------------------------------------------------------

export interface RuleMsgOptions {
  /** Include NFTA_RULE_HANDLE (replace, delete). */
  readonly withHandle?: boolean;
  /** Only table and chain: DELRULE of a whole chain (flush). */
  readonly chainOnly?: boolean;
}

export function writeRule(
  w: NlWriter,
  msg: number,
  flags: number,
  seq: number,
  r: NftRule,
  ctx: EncodeContext = {},
  opts: RuleMsgOptions = {},
): void {
  const at = begin(w, msg, flags, seq, FAMILY_NUMBERS[r.family]);
  w.string(C.NFTA_RULE_TABLE, r.table);
  w.string(C.NFTA_RULE_CHAIN, r.chain);
  if (opts.withHandle) {
    if (r.handle === undefined) throw new Error(`rule in ${r.family} ${r.table} ${r.chain} has no handle`);
    w.be64(C.NFTA_RULE_HANDLE, r.handle);
  }
  if (msg === C.NFT_MSG_NEWRULE && !opts.chainOnly) {
    const list = w.beginNest(C.NFTA_RULE_EXPRESSIONS);
    for (const e of r.exprs) writeExpr(w, e, ctx);
    w.endNest(list);
    if (r.comment !== undefined) w.tlvString(C.NFTA_RULE_USERDATA, NFTNL_UDATA_COMMENT, r.comment);
  }
  w.endMsg(at);
}

// --- sets ---------------------------------------------------------------------------------------

export function setFlags(s: NftSet): number {
  let f = 0;
  if (s.interval) f |= C.NFT_SET_INTERVAL;
  if (s.data) f |= C.NFT_SET_MAP;
  if (s.timeout) f |= C.NFT_SET_TIMEOUT;
  if (s.dynamic) f |= C.NFT_SET_EVAL;
  if (s.concat && s.interval) f |= C.NFT_SET_CONCAT;
  return f;
}

export function writeSet(w: NlWriter, msg: number, flags: number, seq: number, s: NftSet, setId?: number): void {
  const at = begin(w, msg, flags, seq, FAMILY_NUMBERS[s.family]);
  w.string(C.NFTA_SET_TABLE, s.table);
  w.string(C.NFTA_SET_NAME, s.name);
  if (msg === C.NFT_MSG_NEWSET) {
    w.be32(C.NFTA_SET_FLAGS, setFlags(s));
    w.be32(C.NFTA_SET_KEY_TYPE, s.keyType);
    w.be32(C.NFTA_SET_KEY_LEN, s.keyLen);
    if (s.data) {
      const verdict = s.data.type === 'verdict';
      w.be32(C.NFTA_SET_DATA_TYPE, verdict ? C.NFT_DATA_VERDICT : (s.data.type as number));
      // nft sends 0 for a verdict map (the kernel sizes verdict data itself).
      w.be32(C.NFTA_SET_DATA_LEN, verdict ? 0 : s.data.len);
    }
    if (setId !== undefined) w.be32(C.NFTA_SET_ID, setId);
    if (s.size !== undefined || s.concat) {
      const desc = w.beginNest(C.NFTA_SET_DESC);
      if (s.size !== undefined) w.be32(C.NFTA_SET_DESC_SIZE, s.size);
      if (s.concat) {
        const cc = w.beginNest(C.NFTA_SET_DESC_CONCAT);
        for (const len of s.concat) {
          const f = w.beginNest(C.NFTA_LIST_ELEM);
          w.be32(C.NFTA_SET_FIELD_LEN, len);
          w.endNest(f);
        }
        w.endNest(cc);
      }
      w.endNest(desc);
    }
    if (s.timeoutMs !== undefined) w.be64(C.NFTA_SET_TIMEOUT, BigInt(s.timeoutMs));
    w.bytes(C.NFTA_SET_USERDATA, setUdata(s));
  }
  w.endMsg(at);
}

// --- elements -----------------------------------------------------------------------------------

/** One element as list entry `index` (libnftnl numbers them 1, 2, ...). */
export function writeElement(w: NlWriter, index: number, e: NftElement, forDelete: boolean): void {
  const n = w.beginNest(index);
  if (e.intervalEnd) w.be32(C.NFTA_SET_ELEM_FLAGS, C.NFT_SET_ELEM_INTERVAL_END);
  if (!forDelete && e.timeoutMs !== undefined) w.be64(C.NFTA_SET_ELEM_TIMEOUT, BigInt(e.timeoutMs));
  const k = w.beginNest(C.NFTA_SET_ELEM_KEY);
  w.bytes(C.NFTA_DATA_VALUE, e.key);
  w.endNest(k);
  if (e.keyEnd) {
    const ke = w.beginNest(C.NFTA_SET_ELEM_KEY_END);
    w.bytes(C.NFTA_DATA_VALUE, e.keyEnd);
    w.endNest(ke);
  }
  if (!forDelete) {
    if (e.verdict) {
      const d = w.beginNest(C.NFTA_SET_ELEM_DATA);
      writeVerdict(w, e.verdict);
      w.endNest(d);
    } else if (e.data) {
      const d = w.beginNest(C.NFTA_SET_ELEM_DATA);
      w.bytes(C.NFTA_DATA_VALUE, e.data);
      w.endNest(d);
    }
    if (e.comment !== undefined) w.tlvString(C.NFTA_SET_ELEM_USERDATA, NFTNL_UDATA_COMMENT, e.comment);
  }
  w.endNest(n);
}

/**
 * NEWSETELEM/DELSETELEM for `elements` (all of them: the caller splits long lists). With no
 * elements and DELSETELEM this is a flush of the set.
 */
export function writeElements(
  w: NlWriter,
  msg: number,
  flags: number,
  seq: number,
  s: NftSet,
  elements: readonly NftElement[],
  setId?: number,
): void {
  const at = begin(w, msg, flags, seq, FAMILY_NUMBERS[s.family]);
  w.string(C.NFTA_SET_ELEM_LIST_TABLE, s.table);
  w.string(C.NFTA_SET_ELEM_LIST_SET, s.name);
  if (setId !== undefined) w.be32(C.NFTA_SET_ELEM_LIST_SET_ID, setId);
  if (elements.length > 0) {
    const list = w.beginNest(C.NFTA_SET_ELEM_LIST_ELEMENTS);
    elements.forEach((e, i) => writeElement(w, i + 1, e, msg === C.NFT_MSG_DELSETELEM));
    w.endNest(list);
  }
  w.endMsg(at);
}

// --- dump / get requests ------------------------------------------------------------------------

export const NLM_F_REQUEST = 0x01;
export const NLM_F_DUMP = 0x300;

/** GETTABLE (doit) for one table, GETCHAIN/GETRULE/GETSET dumps filtered by table. */
export function writeGet(w: NlWriter, msg: number, seq: number, family: NftFamily, table: string, dump: boolean): void {
  const at = begin(w, msg, NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0) | (dump ? 0 : 0x04 /* ACK */), seq, FAMILY_NUMBERS[family]);
  // NFTA_*_TABLE is attribute 1 for chains, rules and sets; for GETTABLE it is the name (also 1).
  w.string(1, table);
  w.endMsg(at);
}

/** GETSETELEM dump of one set (nft writes the set name first, then the table). */
export function writeGetElements(w: NlWriter, seq: number, family: NftFamily, table: string, set: string): void {
  const at = begin(w, C.NFT_MSG_GETSETELEM, NLM_F_REQUEST | NLM_F_DUMP, seq, FAMILY_NUMBERS[family]);
  w.string(C.NFTA_SET_ELEM_LIST_SET, set);
  w.string(C.NFTA_SET_ELEM_LIST_TABLE, table);
  w.endMsg(at);
}

/** GETGEN: answered with NEWGEN (the ruleset generation); also the end marker after a batch. */
export function writeGetGen(w: NlWriter, seq: number): void {
  const at = begin(w, C.NFT_MSG_GETGEN, NLM_F_REQUEST, seq, C.NFPROTO_UNSPEC);
  w.endMsg(at);
}
