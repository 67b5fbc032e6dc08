// IpvsClient: programs the kernel's IPVS tables over generic netlink, one request per call.
//
// Protocol handling:
// - Every request gets a fresh sequence number; replies are routed back by nlmsg_seq, so
//   several calls may be in flight at once.
// - Non-dump requests carry NLM_F_ACK: the kernel answers with any reply messages followed by
//   exactly one NLMSG_ERROR (error 0 = success), so every call has a definite end.
// - Dumps (NLM_F_DUMP) are answered with NLM_F_MULTI messages, possibly spread over several
//   datagrams, ended by NLMSG_DONE; an error before the dump starts comes as NLMSG_ERROR.

import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
} from '../../shared/netlink/constants.js';
import { decodeDoneError, decodeNlError, parseNlMsgs, type NlMsg } from '../../shared/netlink/nlmsg.js';
import { openGenericNetlink, type NetlinkTransport } from '../../shared/netlink/socket.js';
import { IPVS_GENL_NAME, IPVS_GENL_VERSION } from './constants.js';
import { IpvsError, type IpvsOp } from './errors.js';
import { decodeFamilyId, decodeGenlMsg, encodeGenlMsg, encodeGetFamily } from './genl.js';
import {
  decodeConfig,
  decodeDest,
  decodeInfo,
  decodeService,
  delDestRequest,
  delServiceRequest,
  flushRequest,
  getConfigRequest,
  getInfoRequest,
  listDestsRequest,
  listServicesRequest,
  newDestRequest,
  newServiceRequest,
  setConfigRequest,
  setDestRequest,
  setServiceRequest,
  type IpvsRequest,
} from './ipvs-codec.js';
import type { IpvsInfo, RealServer, RealServerKey, Timeouts, VirtualServer, VirtualServerKey } from './types.js';

export interface IpvsClientOptions {
  /** Defaults to a real NETLINK_GENERIC socket. */
  readonly transport?: NetlinkTransport;
  /** Per-request timeout; generous because software-emulated test VMs are slow. */
  readonly timeoutMs?: number;
}

interface Pending {
  readonly op: IpvsOp;
  readonly replies: NlMsg[];
  readonly resolve: (replies: NlMsg[]) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class IpvsClient {
  private seq = Math.floor(Math.random() * 0x7fffffff) + 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private mutations = 0;
  private requests = 0;

  private constructor(
    private readonly transport: NetlinkTransport,
    private familyId: number,
    private readonly timeoutMs: number,
  ) {
    transport.onDatagram((d) => this.receive(d));
    transport.onError((e) => this.failAll(e));
  }

  /** Open a socket and resolve the IPVS family id through nlctrl. */
  static async open(opts: IpvsClientOptions = {}): Promise<IpvsClient> {
    const transport = opts.transport ?? openGenericNetlink();
    const client = new IpvsClient(transport, 0, opts.timeoutMs ?? 10_000);
    try {
      const seq = client.nextSeq();
      const replies = await client.exchange('resolveFamily', seq, encodeGetFamily(IPVS_GENL_NAME, seq));
      const reply = replies[0];
      if (!reply) throw new Error('nlctrl returned no family for IPVS');
      client.familyId = decodeFamilyId(reply);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** Mutating requests issued so far (successful or not): lets tests assert O(change) syncs. */
  get operations(): number {
    return this.mutations;
  }

  /** Every IPVS request issued so far, dumps included (the dataplane logs it per sync). */
  get requestCount(): number {
    return this.requests;
  }

  /** The dynamically assigned generic netlink family id of IPVS. */
  get family(): number {
    return this.familyId;
  }

  async listServices(): Promise<VirtualServer[]> {
    const replies = await this.request('listServices', listServicesRequest());
    return replies.map((m) => decodeService(decodeGenlMsg(m).attrs)).filter((s): s is VirtualServer => !!s);
  }

  async addService(vs: VirtualServer): Promise<void> {
    await this.request('addService', newServiceRequest(vs));
  }

  async updateService(vs: VirtualServer): Promise<void> {
    await this.request('updateService', setServiceRequest(vs));
  }

  /** Deleting a service also removes its destinations. */
  async deleteService(vs: VirtualServerKey): Promise<void> {
    await this.request('deleteService', delServiceRequest(vs));
  }

  /** The destinations of a service; a service that does not exist has none (the kernel dumps nothing). */
  async listDestinations(vs: VirtualServerKey): Promise<RealServer[]> {
    const replies = await this.request('listDestinations', listDestsRequest(vs));
    return replies.map((m) => decodeDest(decodeGenlMsg(m).attrs, vs.family)).filter((d): d is RealServer => !!d);
  }

  async addDestination(vs: VirtualServerKey, rs: RealServer): Promise<void> {
    await this.request('addDestination', newDestRequest(vs, rs));
  }

  async updateDestination(vs: VirtualServerKey, rs: RealServer): Promise<void> {
    await this.request('updateDestination', setDestRequest(vs, rs));
  }

  async deleteDestination(vs: VirtualServerKey, rs: RealServerKey): Promise<void> {
    await this.request('deleteDestination', delDestRequest(vs, rs));
  }

  async getTimeouts(): Promise<Timeouts> {
    const replies = await this.request('getTimeouts', getConfigRequest());
    const reply = replies[0];
    if (!reply) throw new Error('ipvs getTimeouts: no reply');
    return decodeConfig(decodeGenlMsg(reply).attrs);
  }

  /** Sets the given timeouts (seconds); omitted ones, and 0, leave the kernel's value unchanged. */
  async setTimeouts(t: Partial<Timeouts>): Promise<void> {
    await this.request('setTimeouts', setConfigRequest(t));
  }

  async getInfo(): Promise<IpvsInfo> {
    const replies = await this.request('getInfo', getInfoRequest());
    const reply = replies[0];
    if (!reply) throw new Error('ipvs getInfo: no reply');
    return decodeInfo(decodeGenlMsg(reply).attrs);
  }

  /** Remove every service and destination (`ipvsadm -C`). */
  async flush(): Promise<void> {
    await this.request('flush', flushRequest());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('ipvs client closed'));
    this.transport.close();
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  private request(op: IpvsOp, req: IpvsRequest): Promise<NlMsg[]> {
    const seq = this.nextSeq();
    const datagram = encodeGenlMsg({
      family: this.familyId,
      cmd: req.cmd,
      version: IPVS_GENL_VERSION,
      flags: NLM_F_REQUEST | (req.dump ? NLM_F_DUMP : NLM_F_ACK),
      seq,
      attrs: req.attrs,
    });
    if (req.mutating) this.mutations++;
    this.requests++;
    return this.exchange(op, seq, datagram);
  }

  private exchange(op: IpvsOp, seq: number, datagram: Buffer): Promise<NlMsg[]> {
    if (this.closed) return Promise.reject(new Error(`ipvs ${op}: client is closed`));
    return new Promise<NlMsg[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(seq);
        reject(new Error(`ipvs ${op}: no answer from the kernel within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(seq, { op, replies: [], resolve, reject, timer });
      this.transport.setActive(true);
      this.transport.send(datagram).catch((e: Error) => {
        if (this.settle(seq)) reject(new Error(`ipvs ${op}: send failed: ${e.message}`));
      });
    });
  }

  /** Forget a pending request; true when it was still pending. */
  private settle(seq: number): boolean {
    const p = this.pending.get(seq);
    if (!p) return false;
    clearTimeout(p.timer);
    this.pending.delete(seq);
    if (this.pending.size === 0) this.transport.setActive(false);
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
      // Replies echo the request's sequence number; anything else (e.g. a late answer to a
      // request that already timed out) has nobody waiting and is dropped.
      const p = this.pending.get(msg.seq);
      if (!p) continue;
      if (msg.type === NLMSG_NOOP) continue;
      if (msg.type === NLMSG_ERROR) {
        const err = decodeNlError(msg);
        this.settle(msg.seq);
        if (err.error === 0) p.resolve(p.replies);
        else p.reject(IpvsError.fromKernel(p.op, err.error, err.extMessage));
      } else if (msg.type === NLMSG_DONE) {
        const error = decodeDoneError(msg);
        this.settle(msg.seq);
        if (error === 0) p.resolve(p.replies);
        else p.reject(IpvsError.fromKernel(p.op, error));
      } else if (msg.type === NLMSG_OVERRUN) {
        this.settle(msg.seq);
        p.reject(new Error(`ipvs ${p.op}: netlink overrun, reply lost`));
      } else {
        p.replies.push(msg);
      }
    }
  }

  private failAll(err: Error): void {
    for (const [seq, p] of [...this.pending]) {
      this.settle(seq);
      p.reject(new Error(`ipvs ${p.op}: ${err.message}`));
    }
  }
}
