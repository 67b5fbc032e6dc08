// One transaction as one datagram: NFNL_MSG_BATCH_BEGIN, a message per op (element lists split
// into several messages when long), NFNL_MSG_BATCH_END. Pure: returns the bytes and which op
// each sequence number belongs to, so the client can map the kernel's answers back.

import {
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_ECHO,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
} from '../../shared/netlink/constants.js';
import { NlWriter } from '../../shared/netlink/writer.js';
import * as C from './constants.js';
import {
  writeBatchBegin,
  writeBatchEnd,
  writeChain,
  writeElement,
  writeElements,
  writeRule,
  writeSet,
  writeTable,
  FAMILY_NUMBERS,
} from './messages.js';
import type { NftElement, NftOp, NftSet } from './types.js';

/**
 * An element list is one nested attribute, whose length is a u16: stay well below 64 KiB per
 * NEWSETELEM message and start another message for the rest.
 */
export const DEFAULT_MAX_ELEMENT_BYTES = 48 * 1024;

export interface BatchOptions {
  /** Sequence number of BATCH_BEGIN; the messages follow, BATCH_END last. */
  readonly firstSeq: number;
  /** Ask for the echo of added/replaced rules (their handles). */
  readonly echoRules?: boolean;
  readonly maxElementBytes?: number;
  /** Override the message flags per op (golden tests imitate nft's, which differ slightly). */
  readonly flagsFor?: (op: NftOp) => number;
}

export interface EncodedBatch {
  readonly datagram: Buffer;
  readonly beginSeq: number;
  readonly endSeq: number;
  /** Op index per message sequence number (BATCH_BEGIN/END excluded). */
  readonly opBySeq: ReadonlyMap<number, number>;
  /** Number of messages between BEGIN and END. */
  readonly messages: number;
}

/** The per-op message flags. No NLM_F_ACK: success is silent, errors always come back. */
export function opFlags(op: NftOp, echoRules: boolean): number {
  const echo = echoRules ? NLM_F_ECHO : 0;
  switch (op.op) {
    case 'add-table':
    case 'add-chain':
    case 'add-set':
    case 'add-elements':
      return NLM_F_REQUEST | NLM_F_CREATE;
    case 'add-rule':
      return NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND | echo;
    case 'replace-rule':
      return NLM_F_REQUEST | NLM_F_REPLACE | echo;
    default:
      return NLM_F_REQUEST;
  }
}

/**
 * A first guess of a batch's size (measured: ~265 bytes per op of a full sync at 10,000 services,
 * ~70 per element): a writer that starts near it does not copy a multi-MiB batch ~10 times over
 * while doubling from 4 KiB.
 */
export function batchSizeGuess(ops: readonly NftOp[]): number {
  let n = 64;
  for (const op of ops) n += op.op === 'add-elements' || op.op === 'delete-elements' ? 96 + op.elements.length * 64 : 256;
  return n;
}

export function encodeBatch(ops: readonly NftOp[], opts: BatchOptions): EncodedBatch {
  const w = new NlWriter(Math.max(4096, batchSizeGuess(ops)));
  const maxElementBytes = opts.maxElementBytes ?? DEFAULT_MAX_ELEMENT_BYTES;
  const echoRules = opts.echoRules ?? true;
  let seq = opts.firstSeq;
  const beginSeq = seq++;
  writeBatchBegin(w, beginSeq);
  const opBySeq = new Map<number, number>();
  // Sets created in this batch get an id; later lookups, dynsets and element lists name them by
  // it as well as by name (what nft does; the kernel finds either). One context per table.
  const contexts = new Map<string, { setIds: Map<string, number> }>();
  let nextSetId = 1;
  const ctxFor = (family: string, table: string): { setIds: Map<string, number> } => {
    const k = `${family}\0${table}`;
    let ctx = contexts.get(k);
    if (!ctx) contexts.set(k, (ctx = { setIds: new Map() }));
    return ctx;
  };

  ops.forEach((op, i) => {
    const flags = opts.flagsFor ? opts.flagsFor(op) : opFlags(op, echoRules);
    const take = (): number => {
      opBySeq.set(seq, i);
      return seq++;
    };
    switch (op.op) {
      case 'add-table':
        writeTable(w, C.NFT_MSG_NEWTABLE, flags, take(), op.table);
        return;
      case 'delete-table':
        writeTable(w, C.NFT_MSG_DELTABLE, flags, take(), op.table);
        return;
      case 'add-chain':
        writeChain(w, C.NFT_MSG_NEWCHAIN, flags, take(), op.chain);
        return;
      case 'delete-chain':
        writeChain(w, C.NFT_MSG_DELCHAIN, flags, take(), op.chain);
        return;
      case 'flush-chain':
        writeRule(
          w,
          C.NFT_MSG_DELRULE,
          flags,
          take(),
          { family: op.chain.family, table: op.chain.table, chain: op.chain.name, exprs: [] },
          {},
          { chainOnly: true },
        );
        return;
      case 'add-rule':
        writeRule(w, C.NFT_MSG_NEWRULE, flags, take(), op.rule, ctxFor(op.rule.family, op.rule.table));
        return;
      case 'replace-rule':
        writeRule(w, C.NFT_MSG_NEWRULE, flags, take(), op.rule, ctxFor(op.rule.family, op.rule.table), {
          withHandle: true,
        });
        return;
      case 'delete-rule':
        writeRule(w, C.NFT_MSG_DELRULE, flags, take(), op.rule, {}, { withHandle: true, chainOnly: true });
        return;
      case 'add-set': {
        const id = nextSetId++;
        ctxFor(op.set.family, op.set.table).setIds.set(op.set.name, id);
        writeSet(w, C.NFT_MSG_NEWSET, flags, take(), op.set, id);
        return;
      }
      case 'delete-set':
        writeSet(w, C.NFT_MSG_DELSET, flags, take(), op.set);
        return;
      case 'flush-set':
        writeElements(w, C.NFT_MSG_DELSETELEM, flags, take(), op.set, []);
        return;
      case 'add-elements':
      case 'delete-elements': {
        const msg = op.op === 'add-elements' ? C.NFT_MSG_NEWSETELEM : C.NFT_MSG_DELSETELEM;
        const id = contexts.get(`${op.set.family}\0${op.set.table}`)?.setIds.get(op.set.name);
        writeElementChunks(w, msg, flags, take, op.set, op.elements, id, maxElementBytes);
        return;
      }
    }
  });
  const endSeq = seq;
  writeBatchEnd(w, endSeq);
  return { datagram: w.finish(), beginSeq, endSeq, opBySeq, messages: endSeq - beginSeq - 1 };
}

/**
 * Elements of one op in as many messages as needed: each element is written, and if the list
 * grew past the limit, it is taken back and the message closed; the next message starts with it.
 */
function writeElementChunks(
  w: NlWriter,
  msg: number,
  flags: number,
  take: () => number,
  s: NftSet,
  elements: readonly NftElement[],
  setId: number | undefined,
  maxElementBytes: number,
): void {
  if (elements.length === 0) return; // nothing to add or delete: no message (an empty DELSETELEM would flush)
  const forDelete = msg === C.NFT_MSG_DELSETELEM;
  let i = 0;
  while (i < elements.length) {
    const at = w.beginMsg(C.nftMsgType(msg), flags, take());
    w.nfgenmsg(FAMILY_NUMBERS[s.family], 0);
    w.string(C.NFTA_SET_ELEM_LIST_TABLE, s.table);
    w.string(C.NFTA_SET_ELEM_LIST_SET, s.name);
    if (setId !== undefined) w.be32(C.NFTA_SET_ELEM_LIST_SET_ID, setId);
    const list = w.beginNest(C.NFTA_SET_ELEM_LIST_ELEMENTS);
    let inThis = 0;
    while (i < elements.length) {
      const before = w.position;
      writeElement(w, inThis + 1, elements[i] as NftElement, forDelete);
      if (w.position - list > maxElementBytes) {
        if (inThis === 0) throw new RangeError(`element ${i} of set ${s.name} alone exceeds ${maxElementBytes} bytes`);
        w.truncate(before);
        break;
      }
      inThis++;
      i++;
    }
    w.endNest(list);
    w.endMsg(at);
  }
}
