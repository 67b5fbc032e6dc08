// NftNetlinkClient: the NftClient the nftables dataplane runs on, speaking nf_tables over a
// NETLINK_NETFILTER socket (no `nft` process anywhere on the path).
//
// How a commit works, and why:
// - All ops go out as ONE datagram (BATCH_BEGIN, messages, BATCH_END): the kernel processes a
//   batch only as a unit, synchronously inside our sendmsg, and applies all of it or nothing.
// - Messages carry no NLM_F_ACK: success is silent, and every failing message still gets an
//   NLMSG_ERROR with its sequence number (mapped back to the op). Per-message ACKs would put one
//   skb per message into our receive queue at once — a large full sync would overflow it.
// - Added and replaced rules carry NLM_F_ECHO: the kernel sends each rule back (with its new
//   handle) when it commits; the kernel coalesces these notifications into few skbs.
// - Because the kernel answers the batch before sendmsg returns, a GETGEN sent right after is
//   answered after everything the batch produced: its NEWGEN reply marks the end.
// - A receive-queue overflow (ENOBUFS) means answers were lost: the commit then fails with an
//   error saying its outcome is unknown (the caller dumps and repairs).
//
// Dumps are sequential (netlink runs one dump per socket at a time) and restarted when the
// kernel flags one as interrupted by a concurrent change (NLM_F_DUMP_INTR).

import { NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN } from '../../shared/netlink/constants.js';
import { errnoName } from '../../shared/netlink/errno.js';
import { decodeDoneError, decodeNlError, parseNlMsgs, type NlMsg } from '../../shared/netlink/nlmsg.js';
import { openNetfilterNetlink, type NetlinkTransport } from '../../shared/netlink/socket.js';
import { NlWriter } from '../../shared/netlink/writer.js';
import { encodeBatch, DEFAULT_MAX_ELEMENT_BYTES } from './batch.js';
import * as C from './constants.js';
import { decodeChain, decodeElements, decodeGenId, decodeRule, decodeSet, decodeTable, nftMsg, ruleHandle } from './decode.js';
import { NftCommitError } from './errors.js';
import { writeGet, writeGetElements, writeGetGen } from './messages.js';
import type { CommitResult, DumpOptions, NftClient, NftElement, NftFamily, NftOp, NftSet, NftTableDump } from './types.js';

const NLM_F_DUMP_INTR = 0x10;
const ENOENT = 2;

export interface NftNetlinkClientOptions {
  /** Defaults to a real NETLINK_NETFILTER socket. */
  readonly transport?: NetlinkTransport;
  /** Per-exchange timeout. */
  readonly timeoutMs?: number;
  /** SO_RCVBUF/SO_SNDBUF asked for (the kernel caps them at net.core.rmem_max/wmem_max, x2). */
  readonly socketBufferBytes?: number;
  readonly maxElementBytes?: number;
  /** Ask for the echo of added/replaced rules to learn their handles (default true). */
  readonly echoRules?: boolean;
  /**
   * Largest number of rule echoes one commit may ask for. Every echo waits in the socket's
   * receive queue until the commit ends; past what the queue holds they would be dropped
   * (ENOBUFS) and the commit's outcome lost. Larger commits get no handles (dump instead).
   * Default: the receive buffer / 1024 bytes (an echoed rule takes ~250-400 bytes there; measured
   * on 6.18 with 8 MiB: 20,000 echoes fit, 30,000 did not).
   */
  readonly maxEchoRules?: number;
}

interface Exchange {
  readonly what: string;
  /** Called per message of this exchange; returns true when the exchange is complete. */
  readonly onMessage: (msg: NlMsg) => boolean;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly seqs: (seq: number) => boolean;
}

export class NftNetlinkClient implements NftClient {
  private seq = (Math.floor(Math.random() * 0x3fffffff) + 1) >>> 0;
  private readonly exchanges = new Set<Exchange>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private commits = 0;
  private bytesSent = 0;
  /**
   * The ruleset generation after our last commit or generation check, and an epoch that moves
   * whenever a generation appeared that our own commits do not explain (another process
   * committed, or we do not know): see quietEpoch().
   */
  private lastGen: number | undefined;
  private genEpoch = 0;

  private transport: NetlinkTransport;
  /** Set when the socket failed (the addon closes it): the next call opens a new one. */
  private broken = false;

  private constructor(
    /** Opens the socket; undefined for an injected transport, which is never reopened. */
    private readonly reopen: (() => NetlinkTransport) | undefined,
    transport: NetlinkTransport,
    private readonly timeoutMs: number,
    private readonly maxElementBytes: number,
    private readonly echoRules: boolean,
    private readonly maxEchoRules: number | undefined,
  ) {
    this.transport = transport;
    this.attach(transport);
  }

  static async open(opts: NftNetlinkClientOptions = {}): Promise<NftNetlinkClient> {
    const size = opts.socketBufferBytes ?? 8 * 1024 * 1024;
    const reopen = opts.transport ? undefined : () => openNetfilterNetlink({ recvBufferSize: size, sendBufferSize: size });
    const transport = opts.transport ?? (reopen as () => NetlinkTransport)();
    return new NftNetlinkClient(
      reopen,
      transport,
      opts.timeoutMs ?? 30_000,
      opts.maxElementBytes ?? DEFAULT_MAX_ELEMENT_BYTES,
      opts.echoRules ?? true,
      opts.maxEchoRules,
    );
  }

  private attach(t: NetlinkTransport): void {
    t.onDatagram((d) => {
      if (t === this.transport) this.receive(d);
    });
    t.onError((e) => {
      if (t !== this.transport) return;
      this.broken = true;
      this.failAll(e);
    });
  }

  /** Rule echoes one commit may ask for (see NftNetlinkClientOptions.maxEchoRules). */
  get echoLimit(): number {
    return this.maxEchoRules ?? Math.floor((this.transport.recvBufferBytes ?? 212_992) / 1024);
  }

  /** Batches committed so far and the bytes they carried (for metrics and O(change) tests). */
  get stats(): { readonly commits: number; readonly bytesSent: number } {
    return { commits: this.commits, bytesSent: this.bytesSent };
  }

  commit(ops: readonly NftOp[]): Promise<CommitResult> {
    return this.serial(() => this.commitNow(ops));
  }

  /**
   * The epoch of the ruleset: the same number as at an earlier call means nothing but this
   * client's own commits changed any nf_tables object of this network namespace in between (the
   * kernel's generation counter moves by one per committed transaction, whoever sends it; the
   * barrier after each of our commits reads it). Conservative: any unexplained step, or a
   * generation never seen, moves the epoch.
   */
  quietEpoch(): Promise<number> {
    return this.serial(async () => {
      // GETGEN is answered by one NEWGEN (no ACK asked for), or an error.
      const seq = this.nextSeq();
      const w = new NlWriter(64);
      writeGetGen(w, seq);
      const bytes = w.finish();
      let g: number | undefined;
      await this.exchange(
        'get generation',
        (x) => x === seq,
        (msg) => {
          if (msg.type !== NLMSG_ERROR && nftMsg(msg) === C.NFT_MSG_NEWGEN) g = decodeGenId(msg);
          return true;
        },
        () => this.transport.send(bytes),
      );
      if (g === undefined || g !== this.lastGen) this.genEpoch++;
      this.lastGen = g;
      return this.genEpoch;
    });
  }

  dumpTable(family: NftFamily, name: string, opts?: DumpOptions): Promise<NftTableDump | undefined> {
    return this.serial(() => this.dumpNow(family, name, opts));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('nftables client closed'));
    this.transport.close();
  }

  // --- commit -----------------------------------------------------------------------------------

  private async commitNow(ops: readonly NftOp[]): Promise<CommitResult> {
    const handles: (bigint | undefined)[] = ops.map(() => undefined);
    if (ops.length === 0) return { handles, bytes: 0, kernelMs: 0 };
    let ruleOps = 0;
    for (const op of ops) if (op.op === 'add-rule' || op.op === 'replace-rule') ruleOps++;
    const batch = encodeBatch(ops, {
      firstSeq: this.batchStartSeq(),
      maxElementBytes: this.maxElementBytes,
      echoRules: this.echoRules && ruleOps <= this.echoLimit,
    });
    this.seq = batch.endSeq;
    const barrierSeq = this.nextSeq();
    const barrier = new NlWriter(64);
    writeGetGen(barrier, barrierSeq);
    const barrierBytes = barrier.finish();

    const errors: { seq: number; errno: number; ext?: string }[] = [];
    let gen: number | undefined;
    const inBatch = (s: number): boolean => s >= batch.beginSeq && s <= batch.endSeq;
    const started = performance.now();
    await this.exchange(
      `commit of ${ops.length} ops`,
      (s) => inBatch(s) || s === barrierSeq,
      (msg) => {
        if (msg.seq === barrierSeq) {
          // NEWGEN (or an error): everything before it has arrived.
          if (msg.type !== NLMSG_ERROR && nftMsg(msg) === C.NFT_MSG_NEWGEN) gen = decodeGenId(msg);
          return true;
        }
        if (msg.type === NLMSG_ERROR) {
          const e = decodeNlError(msg);
          if (e.error !== 0) errors.push({ seq: msg.seq, errno: -e.error, ...(e.extMessage ? { ext: e.extMessage } : {}) });
        } else if ((msg.type >> 8) === C.NFNL_SUBSYS_NFTABLES && nftMsg(msg) === C.NFT_MSG_NEWRULE) {
          const i = batch.opBySeq.get(msg.seq);
          if (i !== undefined) handles[i] = ruleHandle(msg);
        }
        return false;
      },
      async () => {
        await this.transport.send(batch.datagram);
        await this.transport.send(barrierBytes);
      },
    );
    const kernelMs = performance.now() - started;
    // Our batch moved the generation by exactly one if nobody else committed since lastGen.
    if (gen === undefined || this.lastGen === undefined || gen !== this.lastGen + 1 || errors.length > 0) this.genEpoch++;
    this.lastGen = gen;
    this.commits++;
    this.bytesSent += batch.datagram.length;
    if (errors.length > 0) throw this.commitError(ops, batch.opBySeq, batch.beginSeq, errors);
    return { handles, bytes: batch.datagram.length, kernelMs, epoch: this.genEpoch };
  }

  private commitError(
    ops: readonly NftOp[],
    opBySeq: ReadonlyMap<number, number>,
    beginSeq: number,
    errors: readonly { seq: number; errno: number; ext?: string }[],
  ): NftCommitError {
    // The first failing message is the cause; later ones often only follow from it.
    const sorted = [...errors].sort((a, b) => a.seq - b.seq);
    const first = sorted[0] as { seq: number; errno: number; ext?: string };
    const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more failed)` : '';
    const code = errnoName(first.errno);
    const ext = first.ext ? ` (${first.ext})` : '';
    const i = opBySeq.get(first.seq);
    if (i === undefined || first.seq === beginSeq) {
      // An error on BATCH_BEGIN: the kernel refused the transaction as a whole at commit time
      // (e.g. validation of the chain graph: a loop, or a verdict not allowed from a hook).
      return new NftCommitError(-1, undefined, first.errno, `commit of ${ops.length} ops refused: ${code}${ext}${more}`);
    }
    const op = ops[i] as NftOp;
    return new NftCommitError(i, op, first.errno, `${describeOp(op)}: ${code}${ext}${more}`);
  }

  // --- dumps ------------------------------------------------------------------------------------

  private async dumpNow(family: NftFamily, name: string, opts: DumpOptions | undefined): Promise<NftTableDump | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dumpOnce(family, name, opts);
      } catch (e) {
        if (e instanceof DumpInterrupted && attempt < 5) continue;
        throw e;
      }
    }
  }

  private async dumpOnce(family: NftFamily, name: string, opts: DumpOptions | undefined): Promise<NftTableDump | undefined> {
    const tableMsgs = await this.request(`get table ${family} ${name}`, (w, s) => writeGet(w, C.NFT_MSG_GETTABLE, s, family, name, false), true);
    if (tableMsgs === undefined) return undefined;
    const tableMsg = tableMsgs.find((m) => nftMsg(m) === C.NFT_MSG_NEWTABLE);
    if (!tableMsg) return undefined;
    const table = decodeTable(tableMsg);
    const dump = async (msg: number, what: string): Promise<NlMsg[]> =>
      (await this.request(`${what} of ${family} ${name}`, (w, s) => writeGet(w, msg, s, family, name, true), true)) ?? [];
    const chains = (await dump(C.NFT_MSG_GETCHAIN, 'chains')).filter((m) => nftMsg(m) === C.NFT_MSG_NEWCHAIN).map(decodeChain);
    const rules = (await dump(C.NFT_MSG_GETRULE, 'rules')).filter((m) => nftMsg(m) === C.NFT_MSG_NEWRULE).map(decodeRule);
    const sets = (await dump(C.NFT_MSG_GETSET, 'sets')).filter((m) => nftMsg(m) === C.NFT_MSG_NEWSET).map(decodeSet);
    const elements = new Map<string, readonly NftElement[]>();
    // One request per set: skip the sets whose elements the caller never compares.
    for (const s of sets) elements.set(s.name, opts?.skipElementsOf?.(s) ? [] : await this.dumpElements(s));
    // The dumps filter by table name within the family; keep only ours (defensive).
    return {
      table,
      chains: chains.filter((c) => c.table === name && c.family === family),
      rules: rules.filter((r) => r.table === name && r.family === family),
      sets: sets.filter((s) => s.table === name && s.family === family),
      elements,
    };
  }

  private async dumpElements(s: NftSet): Promise<NftElement[]> {
    const msgs =
      (await this.request(
        `elements of set ${s.family} ${s.table} ${s.name}`,
        (w, seq) => writeGetElements(w, seq, s.family, s.table, s.name),
        true,
      )) ?? [];
    const out: NftElement[] = [];
    for (const m of msgs) if (nftMsg(m) === C.NFT_MSG_NEWSETELEM) out.push(...decodeElements(m, s.timeoutMs).elements);
    return out;
  }

  /**
   * One request (doit with ACK, or dump) and its replies; undefined when the kernel answered
   * ENOENT and `enoentUndefined` is set.
   */
  private async request(
    what: string,
    write: (w: NlWriter, seq: number) => void,
    enoentUndefined: boolean,
  ): Promise<NlMsg[] | undefined> {
    const seq = this.nextSeq();
    const w = new NlWriter(256);
    write(w, seq);
    const bytes = w.finish();
    const replies: NlMsg[] = [];
    let errno = 0;
    let interrupted = false;
    await this.exchange(
      what,
      (s) => s === seq,
      (msg) => {
        if (msg.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (msg.type === NLMSG_ERROR) {
          errno = -decodeNlError(msg).error;
          return true;
        }
        if (msg.type === NLMSG_DONE) {
          errno = -decodeDoneError(msg);
          return true;
        }
        if (msg.type === NLMSG_NOOP) return false;
        if (msg.type === NLMSG_OVERRUN) throw new Error(`${what}: netlink overrun`);
        replies.push(msg);
        return false;
      },
      () => this.transport.send(bytes),
    );
    if (interrupted) throw new DumpInterrupted(what);
    if (errno === ENOENT && enoentUndefined) return undefined;
    if (errno !== 0) throw new Error(`nftables ${what}: ${errnoName(errno)}`);
    return replies;
  }

  // --- plumbing ---------------------------------------------------------------------------------

  private serial<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('nftables client is closed'));
    const g = (): Promise<T> => {
      if (this.broken && this.reopen) {
        this.transport.close();
        this.transport = this.reopen();
        this.attach(this.transport);
        this.broken = false;
      }
      return f();
    };
    const run = this.queue.then(g, g);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /** Where a batch starts: its messages take consecutive numbers, so wrap early, never inside. */
  private batchStartSeq(): number {
    if (this.seq > 0x40000000) this.seq = 0;
    return this.nextSeq();
  }

  private exchange(
    what: string,
    seqs: (seq: number) => boolean,
    onMessage: (msg: NlMsg) => boolean,
    send: () => Promise<void>,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(x);
        reject(new Error(`nftables ${what}: no answer from the kernel within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const x: Exchange = { what, onMessage, resolve, reject, timer, seqs };
      this.exchanges.add(x);
      this.transport.setActive(true);
      send().catch((e: Error) => {
        if (this.settle(x)) reject(new Error(`nftables ${what}: send failed: ${e.message}`));
      });
    });
  }

  private settle(x: Exchange): boolean {
    if (!this.exchanges.delete(x)) return false;
    clearTimeout(x.timer);
    if (this.exchanges.size === 0) this.transport.setActive(false);
    return true;
  }

  private receive(datagram: Buffer): void {
    let msgs: NlMsg[];
    try {
      msgs = parseNlMsgs(datagram);
    } catch (e) {
      this.failAll(e as Error);
      return;
    }
    for (const msg of msgs) {
      for (const x of this.exchanges) {
        if (!x.seqs(msg.seq)) continue;
        let done: boolean;
        try {
          done = x.onMessage(msg);
        } catch (e) {
          if (this.settle(x)) x.reject(e as Error);
          break;
        }
        if (done && this.settle(x)) x.resolve();
        break;
      }
    }
  }

  private failAll(err: Error): void {
    const lost = (err as NodeJS.ErrnoException).code === 'ENOBUFS' || /ENOBUFS/.test(err.message);
    for (const x of [...this.exchanges]) {
      this.settle(x);
      x.reject(
        new Error(
          lost
            ? `nftables ${x.what}: the kernel's answers overflowed the socket receive buffer; the outcome is unknown (dump to find out)`
            : `nftables ${x.what}: ${err.message}`,
        ),
      );
    }
  }
}

class DumpInterrupted extends Error {
  constructor(what: string) {
    super(`nftables ${what}: dump interrupted by a concurrent change`);
  }
}

/** "add-rule ip kube-proxy services", "add-elements ip kube-proxy service-ips", ... */
export function describeOp(op: NftOp): string {
  switch (op.op) {
    case 'add-table':
    case 'delete-table':
      return `${op.op} ${op.table.family} ${op.table.name}`;
    case 'add-chain':
    case 'delete-chain':
    case 'flush-chain':
      return `${op.op} ${op.chain.family} ${op.chain.table} ${op.chain.name}`;
    case 'add-rule':
    case 'replace-rule':
    case 'delete-rule': {
      const h = op.rule.handle !== undefined ? ` handle ${op.rule.handle}` : '';
      const c = op.rule.comment !== undefined ? ` "${op.rule.comment}"` : '';
      return `${op.op} ${op.rule.family} ${op.rule.table} ${op.rule.chain}${h}${c}`;
    }
    case 'add-set':
    case 'delete-set':
    case 'flush-set':
      return `${op.op} ${op.set.family} ${op.set.table} ${op.set.name}`;
    case 'add-elements':
    case 'delete-elements':
      return `${op.op} ${op.set.family} ${op.set.table} ${op.set.name} (${op.elements.length} elements)`;
  }
}
