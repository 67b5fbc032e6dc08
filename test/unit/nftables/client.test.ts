// NftNetlinkClient against a fake kernel (a NetlinkTransport that answers like nf_tables does):
// how a batch is sent and ended, how answers map back to ops, and how dumps are read. The real
// kernel is exercised by test/integration/nftables-netlink.test.ts.

import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { NftNetlinkClient } from '../../../modes/nftables/netlink/client.js';
import * as C from '../../../modes/nftables/netlink/constants.js';
import { NftCommitError } from '../../../modes/nftables/netlink/errors.js';
import type { NftOp, NftRule } from '../../../modes/nftables/netlink/types.js';
import { encodeNlMsg, parseNlMsgs, type NlMsg } from '../../../modes/shared/netlink/nlmsg.js';
import type { NetlinkTransport } from '../../../modes/shared/netlink/socket.js';
import { chains4, rules4 } from './golden-model.js';

const nfgen = (family: number): Buffer => Buffer.from([family, 0, 0, 0]);
const attr = (type: number, payload: Buffer): Buffer => {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
};
const be64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v, 0);
  return b;
};

function errorMsg(req: NlMsg, error: number): Buffer {
  const payload = Buffer.alloc(4 + 16);
  payload.writeInt32LE(error, 0);
  encodeNlMsg({ type: req.type, flags: req.flags, seq: req.seq, pid: 0 }, Buffer.alloc(0)).copy(payload, 4);
  return encodeNlMsg({ type: 2, flags: 0x100, seq: req.seq, pid: 0 }, payload);
}
const newGen = (req: NlMsg): Buffer =>
  encodeNlMsg({ type: C.nftMsgType(C.NFT_MSG_NEWGEN), flags: 0, seq: req.seq, pid: 0 }, Buffer.concat([nfgen(0), attr(1, Buffer.from([0, 0, 0, 7]))]));
const echoRule = (req: NlMsg, handle: bigint): Buffer =>
  encodeNlMsg(
    { type: C.nftMsgType(C.NFT_MSG_NEWRULE), flags: 0, seq: req.seq, pid: 0 },
    Buffer.concat([nfgen(2), attr(C.NFTA_RULE_TABLE, Buffer.from('t\0')), attr(C.NFTA_RULE_HANDLE, be64(handle))]),
  );
const done = (seq: number, flags = 2): Buffer => encodeNlMsg({ type: 3, flags, seq, pid: 0 }, Buffer.alloc(4));

interface Sent {
  readonly msgs: NlMsg[];
}

/** A fake nf_tables: `answer` returns the datagrams for each sent datagram (async, like the kernel's). */
function fakeKernel(answer: (msgs: NlMsg[], sentSoFar: number) => Buffer[]) {
  let onDatagram: (d: Buffer) => void = () => undefined;
  let onError: (e: Error) => void = () => undefined;
  const sent: Sent[] = [];
  const transport: NetlinkTransport = {
    send: async (datagram) => {
      const msgs = parseNlMsgs(datagram);
      sent.push({ msgs });
      const answers = answer(msgs, sent.length);
      // The kernel queues everything before sendmsg returns; delivery is later.
      for (const a of answers) setImmediate(() => onDatagram(a));
    },
    onDatagram: (h) => void (onDatagram = h),
    onError: (h) => void (onError = h),
    setActive: () => undefined,
    close: () => undefined,
  };
  return { transport, sent, raiseError: (e: Error) => onError(e) };
}

/** Batches answered with echoes for rule ops, errors where `fail` says so, GETGEN with NEWGEN. */
function batchKernel(fail: (m: NlMsg, index: number) => number = () => 0, handleBase = 100n) {
  return fakeKernel((msgs) => {
    if (msgs[0]?.type === C.nftMsgType(C.NFT_MSG_GETGEN)) return [newGen(msgs[0])];
    if (msgs[0]?.type === C.nftMsgType(C.NFT_MSG_GETTABLE)) return [errorMsg(msgs[0], -2)];
    const out: Buffer[] = [];
    const errors: Buffer[] = [];
    msgs.forEach((m, i) => {
      const errno = fail(m, i);
      if (errno) errors.push(errorMsg(m, -errno));
      else if (m.flags & 0x08 /* ECHO */) out.push(echoRule(m, handleBase + BigInt(i)));
    });
    // Echoes are sent at commit; with any error there is no commit, only the errors.
    return errors.length ? errors : out;
  });
}

const rule = (chain: string): NftRule => ({ family: 'ip', table: 't', chain, exprs: [{ type: 'verdict', verdict: { code: 'accept' } }] });
const ops: NftOp[] = [
  { op: 'add-table', table: { family: 'ip', name: 't' } },
  { op: 'add-chain', chain: { family: 'ip', table: 't', name: 'c' } },
  { op: 'add-rule', rule: rule('c') },
  { op: 'add-rule', rule: rule('c') },
];

describe.runIf(endianness() === 'LE')('NftNetlinkClient (fake kernel)', () => {
  it('sends the batch as one datagram without ACK flags, then GETGEN; the echoes give the rule handles', async () => {
    const k = batchKernel();
    const c = await NftNetlinkClient.open({ transport: k.transport });
    const res = await c.commit(ops);
    expect(k.sent).toHaveLength(2);
    const [batch, barrier] = k.sent as [Sent, Sent];
    expect(batch.msgs.map((m) => m.type)).toEqual([
      C.NFNL_MSG_BATCH_BEGIN,
      C.nftMsgType(C.NFT_MSG_NEWTABLE),
      C.nftMsgType(C.NFT_MSG_NEWCHAIN),
      C.nftMsgType(C.NFT_MSG_NEWRULE),
      C.nftMsgType(C.NFT_MSG_NEWRULE),
      C.NFNL_MSG_BATCH_END,
    ]);
    expect(batch.msgs.every((m) => (m.flags & 0x04) === 0)).toBe(true);
    expect(barrier.msgs.map((m) => m.type)).toEqual([C.nftMsgType(C.NFT_MSG_GETGEN)]);
    expect(barrier.msgs[0]?.seq).toBe((batch.msgs[5]?.seq ?? 0) + 1);
    // Message i of the datagram echoed handle 100 + i: ops 2 and 3 are messages 3 and 4.
    expect(res.handles).toEqual([undefined, undefined, 103n, 104n]);
    expect(res.bytes).toBe(batch.msgs.reduce((n, m) => n + ((16 + m.payload.length + 3) & ~3), 0));
    expect(c.stats).toEqual({ commits: 1, bytesSent: res.bytes });
    await c.close();
  });

  it('maps an error to the op that caused it and names the object', async () => {
    const k = batchKernel((m) => (m.type === C.nftMsgType(C.NFT_MSG_NEWRULE) && m.seq % 2 === 0 ? 22 : 0));
    const c = await NftNetlinkClient.open({ transport: k.transport });
    const err = (await c.commit(ops).catch((e: unknown) => e)) as NftCommitError;
    expect(err).toBeInstanceOf(NftCommitError);
    const failedSeq = k.sent[0]?.msgs.find((m) => m.type === C.nftMsgType(C.NFT_MSG_NEWRULE) && m.seq % 2 === 0)?.seq ?? -1;
    const expectedIndex = (k.sent[0]?.msgs.findIndex((m) => m.seq === failedSeq) ?? 0) - 1;
    expect(err.opIndex).toBe(expectedIndex);
    expect(err.failedOp).toBe(ops[expectedIndex]);
    expect(err.errno).toBe(22);
    expect(err.message).toBe('add-rule ip t c: EINVAL');
    await c.close();
  });

  it('reports the first of several errors and how many more there were', async () => {
    const k = batchKernel((m) => (m.type === C.nftMsgType(C.NFT_MSG_NEWRULE) ? 2 : 0));
    const c = await NftNetlinkClient.open({ transport: k.transport });
    const err = (await c.commit(ops).catch((e: unknown) => e)) as NftCommitError;
    expect([err.opIndex, err.message]).toEqual([2, 'add-rule ip t c: ENOENT (and 1 more failed)']);
    await c.close();
  });

  it('an error on BATCH_BEGIN is the transaction refused as a whole (opIndex -1)', async () => {
    const k = batchKernel((m) => (m.type === C.NFNL_MSG_BATCH_BEGIN ? 40 : 0));
    const c = await NftNetlinkClient.open({ transport: k.transport });
    const err = (await c.commit(ops).catch((e: unknown) => e)) as NftCommitError;
    expect([err.opIndex, err.failedOp, err.errno, err.message]).toEqual([-1, undefined, 40, 'commit of 4 ops refused: ELOOP']);
    await c.close();
  });

  it('a receive overflow (ENOBUFS) fails the commit as of unknown outcome', async () => {
    let raise: (e: Error) => void = () => undefined;
    const k = fakeKernel(() => {
      setImmediate(() => raise(Object.assign(new Error('recvmsg ENOBUFS'), { code: 'ENOBUFS' })));
      return [];
    });
    raise = k.raiseError;
    const c = await NftNetlinkClient.open({ transport: k.transport });
    await expect(c.commit(ops)).rejects.toThrow(/overflowed the socket receive buffer; the outcome is unknown/);
    await c.close();
  });

  it('runs one exchange at a time: a dump asked for during a commit is sent after the commit ends', async () => {
    const k = batchKernel();
    const c = await NftNetlinkClient.open({ transport: k.transport });
    const p1 = c.commit(ops);
    const p2 = c.dumpTable('ip', 'nothing');
    await p1;
    expect(k.sent.map((x) => x.msgs[0]?.type)).toEqual([C.NFNL_MSG_BATCH_BEGIN, C.nftMsgType(C.NFT_MSG_GETGEN)]);
    expect(await p2).toBeUndefined();
    expect(k.sent).toHaveLength(3);
    await c.close();
  });

  it('asks for no echoes when a commit has more rules than the receive queue can hold (handles then undefined)', async () => {
    const k = batchKernel();
    const c = await NftNetlinkClient.open({ transport: { ...k.transport, recvBufferBytes: 3 * 1024 } });
    expect(c.echoLimit).toBe(3);
    const many: NftOp[] = [...ops, { op: 'add-rule', rule: rule('c') }, { op: 'add-rule', rule: rule('c') }];
    const res = await c.commit(many);
    expect(k.sent[0]?.msgs.some((m) => m.flags & 0x08)).toBe(false);
    expect(res.handles.every((h) => h === undefined)).toBe(true);
    // Within the limit the echoes are asked for.
    await c.commit(ops);
    expect(k.sent[2]?.msgs.filter((m) => m.flags & 0x08)).toHaveLength(2);
    await c.close();
  });

  it('no ops: nothing is sent', async () => {
    const k = batchKernel();
    const c = await NftNetlinkClient.open({ transport: k.transport });
    expect(await c.commit([])).toEqual({ handles: [], bytes: 0, kernelMs: 0 });
    expect(k.sent).toHaveLength(0);
    await c.close();
  });
});

// --- dumps, answered with the kernel's real dump bytes from the golden capture -----------------

interface Fixture {
  readonly exchanges: readonly { request: readonly string[]; replies: readonly string[] }[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/golden.json', import.meta.url), 'utf8')) as Fixture;
const captured = (msgType: number): NlMsg[] =>
  fixture.exchanges
    .flatMap((x) => x.replies)
    .flatMap((h) => parseNlMsgs(Buffer.from(h, 'hex')))
    .filter((m) => m.type === C.nftMsgType(msgType) && (m.payload[0] === 2 || msgType === C.NFT_MSG_NEWTABLE));
const reseq = (m: NlMsg, seq: number, extraFlags = 0): Buffer =>
  encodeNlMsg({ type: m.type, flags: m.flags | extraFlags, seq, pid: 0 }, m.payload);

function dumpKernel(opts: { missing?: boolean; interruptOnce?: boolean } = {}) {
  let interrupted = false;
  const requests: number[] = [];
  const k = fakeKernel((msgs) => {
    const req = msgs[0] as NlMsg;
    const type = req.type & 0xff;
    requests.push(type);
    if (type === C.NFT_MSG_GETTABLE) {
      if (opts.missing) return [errorMsg(req, -2)];
      const t = captured(C.NFT_MSG_NEWTABLE)[0] as NlMsg;
      return [reseq(t, req.seq), errorMsg(req, 0)];
    }
    const replyType = { [C.NFT_MSG_GETCHAIN]: C.NFT_MSG_NEWCHAIN, [C.NFT_MSG_GETRULE]: C.NFT_MSG_NEWRULE, [C.NFT_MSG_GETSET]: C.NFT_MSG_NEWSET }[type];
    if (replyType !== undefined) {
      const intr = opts.interruptOnce && !interrupted && type === C.NFT_MSG_GETRULE ? 0x10 : 0;
      if (intr) interrupted = true;
      return [...captured(replyType).map((m) => reseq(m, req.seq, intr)), done(req.seq)];
    }
    if (type === C.NFT_MSG_GETSETELEM) {
      const setName = req.payload.subarray(8).toString('latin1').split('\0')[0];
      const elems = captured(C.NFT_MSG_NEWSETELEM).filter((m) => m.payload.includes(Buffer.from(`${setName}\0`)));
      return [...elems.map((m) => reseq(m, req.seq)), done(req.seq)];
    }
    return [errorMsg(req, -95)];
  });
  return { ...k, requests };
}

describe.runIf(endianness() === 'LE')('NftNetlinkClient dumps (fake kernel, real dump bytes)', () => {
  it('reads table, chains, rules, sets and every set\'s elements', async () => {
    const k = dumpKernel();
    const c = await NftNetlinkClient.open({ transport: k.transport });
    const d = await c.dumpTable('ip', 'kptgold');
    expect(d?.table.name).toBe('kptgold');
    expect(d?.chains.map((x) => x.name)).toEqual(chains4.map((x) => x.name));
    expect(d?.rules).toHaveLength(rules4.length);
    expect(d?.sets.map((s) => s.name)).toEqual(['cluster-ips', 'svc-ports', 'src-ranges', 'lb-ranges', 'aff', 'dispatch', 'eps', 'marks']);
    expect(d?.elements.get('dispatch')).toHaveLength(3);
    expect(d?.elements.get('aff')).toEqual([]);
    expect(k.requests.slice(0, 4)).toEqual([C.NFT_MSG_GETTABLE, C.NFT_MSG_GETCHAIN, C.NFT_MSG_GETRULE, C.NFT_MSG_GETSET]);
    // Dump requests carry NLM_F_DUMP and filter by table name.
    const chainReq = k.sent[1]?.msgs[0] as NlMsg;
    expect(chainReq.flags & 0x300).toBe(0x300);
    expect(chainReq.payload.subarray(8).toString('latin1')).toContain('kptgold\0');
    await c.close();
  });

  it('a table that does not exist dumps as undefined', async () => {
    const k = dumpKernel({ missing: true });
    const c = await NftNetlinkClient.open({ transport: k.transport });
    expect(await c.dumpTable('ip', 'kptgold')).toBeUndefined();
    expect(k.requests).toEqual([C.NFT_MSG_GETTABLE]);
    await c.close();
  });

  it('restarts a dump the kernel marked as interrupted by a concurrent change', async () => {
    const k = dumpKernel({ interruptOnce: true });
    const c = await NftNetlinkClient.open({ transport: k.transport });
    const d = await c.dumpTable('ip', 'kptgold');
    expect(d?.rules).toHaveLength(rules4.length);
    expect(k.requests.filter((t) => t === C.NFT_MSG_GETTABLE)).toHaveLength(2);
    await c.close();
  });
});
