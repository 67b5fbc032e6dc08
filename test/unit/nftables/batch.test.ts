// The batch encoder: one datagram, consecutive sequence numbers mapped back to ops, nft-style
// set ids for sets created in the same batch, per-op flags, and element lists split so that no
// nested list exceeds the u16 attribute length.

import { describe, expect, it } from 'vitest';
import { encodeBatch, opFlags } from '../../../modes/nftables/netlink/batch.js';
import * as C from '../../../modes/nftables/netlink/constants.js';
import { decodeElements } from '../../../modes/nftables/netlink/decode.js';
import type { NftElement, NftOp, NftRule, NftSet } from '../../../modes/nftables/netlink/types.js';
import { parseNlMsgs } from '../../../modes/shared/netlink/nlmsg.js';
import { parseMsg, ruleExprs } from './nl-tree.js';

const set: NftSet = { family: 'ip', table: 't', name: 's', keyType: 0x730d, keyLen: 12, data: { type: 'verdict', len: 0 } };
const rule: NftRule = {
  family: 'ip',
  table: 't',
  chain: 'c',
  exprs: [{ type: 'payload', base: 'network', offset: 16, len: 4, dreg: 1 }, { type: 'lookup', sreg: 1, set: 's', dreg: 0 }],
};
const elements = (n: number): NftElement[] =>
  Array.from({ length: n }, (_, i) => ({
    key: new Uint8Array([198, 19, i >> 8, i & 255, 6, 0, 0, 0, 0, 80, 0, 0]),
    verdict: { code: 'goto', chain: `svc-${i}` },
  }));

describe('encodeBatch', () => {
  it('frames the ops with BATCH_BEGIN/END (res_id NFNL_SUBSYS_NFTABLES) and maps sequence numbers to ops', () => {
    const ops: NftOp[] = [
      { op: 'add-table', table: { family: 'ip', name: 't' } },
      { op: 'add-chain', chain: { family: 'ip', table: 't', name: 'c' } },
      { op: 'add-rule', rule },
    ];
    const b = encodeBatch(ops, { firstSeq: 100 });
    const msgs = parseNlMsgs(b.datagram);
    expect(msgs.map((m) => [m.type, m.seq])).toEqual([
      [C.NFNL_MSG_BATCH_BEGIN, 100],
      [C.nftMsgType(C.NFT_MSG_NEWTABLE), 101],
      [C.nftMsgType(C.NFT_MSG_NEWCHAIN), 102],
      [C.nftMsgType(C.NFT_MSG_NEWRULE), 103],
      [C.NFNL_MSG_BATCH_END, 104],
    ]);
    expect(msgs[0]?.payload.readUInt16BE(2)).toBe(C.NFNL_SUBSYS_NFTABLES);
    expect([...b.opBySeq]).toEqual([
      [101, 0],
      [102, 1],
      [103, 2],
    ]);
    expect([b.beginSeq, b.endSeq, b.messages]).toEqual([100, 104, 3]);
  });

  it('sets the flags the kernel needs per op: no ACK, CREATE without EXCL, APPEND|ECHO for rules, REPLACE for replace', () => {
    const flags = (op: NftOp): number => opFlags(op, true);
    expect(flags({ op: 'add-table', table: { family: 'ip', name: 't' } })).toBe(0x401);
    expect(flags({ op: 'add-set', set })).toBe(0x401);
    expect(flags({ op: 'add-rule', rule })).toBe(0x0c09);
    expect(flags({ op: 'replace-rule', rule: { ...rule, handle: 5n } })).toBe(0x0109);
    expect(flags({ op: 'delete-rule', rule: { ...rule, handle: 5n } })).toBe(0x001);
    expect(opFlags({ op: 'add-rule', rule }, false)).toBe(0x0c01);
  });

  it('gives sets created in the batch an id that later lookups and element lists carry', () => {
    const b = encodeBatch(
      [
        { op: 'add-set', set },
        { op: 'add-elements', set, elements: elements(1) },
        { op: 'add-rule', rule },
      ],
      { firstSeq: 1 },
    );
    const [, newset, newelem, newrule] = parseNlMsgs(b.datagram).map((m) =>
      parseMsg(Buffer.concat([Buffer.alloc(16), m.payload])),
    );
    const attr = (t: typeof newset, type: number) => t?.attrs.find((a) => (a.type & 0x3fff) === type)?.payload?.readUInt32BE(0);
    expect(attr(newset, C.NFTA_SET_ID)).toBe(1);
    expect(attr(newelem, C.NFTA_SET_ELEM_LIST_SET_ID)).toBe(1);
    const lookup = ruleExprs(newrule as NonNullable<typeof newrule>).find((e) => e.name === 'lookup');
    expect(lookup?.data?.find((a) => a.type === C.NFTA_LOOKUP_SET_ID)?.payload?.readUInt32BE(0)).toBe(1);
    // A set not created in this batch is referred to by name only.
    const alone = encodeBatch([{ op: 'add-rule', rule }], { firstSeq: 1 });
    const t = parseMsg(Buffer.concat([Buffer.alloc(16), (parseNlMsgs(alone.datagram)[1] as { payload: Buffer }).payload]));
    expect(ruleExprs(t).find((e) => e.name === 'lookup')?.data?.some((a) => a.type === C.NFTA_LOOKUP_SET_ID)).toBe(false);
  });

  it('splits a long element list into several NEWSETELEM messages of the same op, none over the limit', () => {
    const all = elements(3000);
    const b = encodeBatch([{ op: 'add-elements', set, elements: all }], { firstSeq: 1 });
    const msgs = parseNlMsgs(b.datagram).filter((m) => m.type === C.nftMsgType(C.NFT_MSG_NEWSETELEM));
    expect(msgs.length).toBeGreaterThan(2);
    for (const m of msgs) expect(m.payload.length).toBeLessThan(48 * 1024 + 256);
    expect(new Set(msgs.map((m) => b.opBySeq.get(m.seq)))).toEqual(new Set([0]));
    const back = msgs.flatMap((m) => decodeElements(m).elements);
    expect(back).toEqual(all);
  });

  it('refuses, rather than truncates, an element list that cannot be split (limit below one element)', () => {
    expect(() => encodeBatch([{ op: 'add-elements', set, elements: elements(2) }], { firstSeq: 1, maxElementBytes: 16 })).toThrow(
      /alone exceeds 16 bytes/,
    );
  });

  it('sends no message for an empty element list (an empty DELSETELEM would flush the set)', () => {
    const b = encodeBatch([{ op: 'delete-elements', set, elements: [] }], { firstSeq: 1 });
    expect(b.messages).toBe(0);
    const f = encodeBatch([{ op: 'flush-set', set }], { firstSeq: 1 });
    const [, flush] = parseNlMsgs(f.datagram);
    expect(flush?.type).toBe(C.nftMsgType(C.NFT_MSG_DELSETELEM));
    expect(parseMsg(Buffer.concat([Buffer.alloc(16), (flush as { payload: Buffer }).payload])).attrs.map((a) => a.type)).toEqual([
      C.NFTA_SET_ELEM_LIST_TABLE,
      C.NFTA_SET_ELEM_LIST_SET,
    ]);
  });

  it('delete and replace need the rule handle', () => {
    expect(() => encodeBatch([{ op: 'delete-rule', rule }], { firstSeq: 1 })).toThrow(/has no handle/);
    const b = encodeBatch([{ op: 'delete-rule', rule: { ...rule, handle: 7n } }], { firstSeq: 1 });
    const t = parseMsg(Buffer.concat([Buffer.alloc(16), (parseNlMsgs(b.datagram)[1] as { payload: Buffer }).payload]));
    expect(t.attrs.map((a) => a.type & 0x3fff)).toEqual([C.NFTA_RULE_TABLE, C.NFTA_RULE_CHAIN, C.NFTA_RULE_HANDLE]);
  });
});
