import { describe, expect, it } from 'vitest';
import { IpvsClient } from '../../../modes/ipvs/netlink/client.js';
import { attrU16, attrU32 } from '../../../modes/shared/netlink/attr.js';
import { IpvsError } from '../../../modes/ipvs/netlink/errors.js';
import { decodeGenlMsg, encodeGenlMsg } from '../../../modes/ipvs/netlink/genl.js';
import { encodeNlMsg, parseNlMsgs, type NlMsg } from '../../../modes/shared/netlink/nlmsg.js';
import type { NetlinkTransport } from '../../../modes/shared/netlink/socket.js';
import type { VirtualServer } from '../../../modes/ipvs/netlink/types.js';
import { hex } from './hex.js';

const FAMILY = 0x21;

/** Reply with NLMSG_ERROR for `req`: 0 is an ACK. */
function errorMsg(req: NlMsg, error: number): Buffer {
  const payload = Buffer.alloc(4 + 16);
  payload.writeInt32LE(error, 0);
  encodeNlMsg({ type: req.type, flags: req.flags, seq: req.seq, pid: 0 }, Buffer.alloc(0)).copy(payload, 4);
  return encodeNlMsg({ type: 2, flags: 0x100, seq: req.seq, pid: 0 }, payload);
}
const done = (req: NlMsg, error = 0): Buffer => {
  const p = Buffer.alloc(4);
  p.writeInt32LE(error, 0);
  return encodeNlMsg({ type: 3, flags: 2, seq: req.seq, pid: 0 }, p);
};
const genlReply = (req: NlMsg, cmd: number, attrs: Buffer[], multi = false): Buffer =>
  encodeGenlMsg({ family: req.type, cmd, version: 1, flags: multi ? 2 : 0, seq: req.seq, attrs });

/** A service dump entry as the kernel lays it out (16-byte address). */
function serviceEntry(req: NlMsg, lastOctet: number): Buffer {
  const nested = Buffer.concat([
    attrU16(1, 2),
    attrU16(2, 6),
    hex('1400 0300', `0a6000${lastOctet.toString(16).padStart(2, '0')}`, '00'.repeat(12)),
    hex('0600 0400 0050 0000'),
    hex('0700 0600 7272 0000'),
    hex('0c00 0700 02000000 ffffffff'),
    attrU32(8, 0),
    hex('0800 0900 ffffffff'),
  ]);
  const hdr = Buffer.alloc(4);
  hdr.writeUInt16LE(4 + nested.length, 0);
  hdr.writeUInt16LE(0x8001, 2);
  return genlReply(req, 1, [hdr, nested], true);
}

type Kernel = (req: NlMsg, cmd: number) => Buffer[];

/** A fake kernel: answers each sent request with the datagrams `kernel` returns, asynchronously. */
function fakeTransport(kernel: Kernel) {
  let onDatagram: (d: Buffer) => void = () => undefined;
  const sent: NlMsg[] = [];
  const active: boolean[] = [];
  let closed = false;
  const transport: NetlinkTransport = {
    send: async (datagram) => {
      const [req] = parseNlMsgs(datagram);
      if (!req) throw new Error('empty datagram');
      sent.push(req);
      const cmd = decodeGenlMsg(req).cmd;
      const answers = req.type === 16 ? [genlReply(req, 1, [attrU16(1, FAMILY)]), errorMsg(req, 0)] : kernel(req, cmd);
      for (const a of answers) setImmediate(() => onDatagram(a));
    },
    onDatagram: (h) => void (onDatagram = h),
    onError: () => undefined,
    setActive: (a) => void active.push(a),
    close: () => void (closed = true),
  };
  const deliver = (d: Buffer): void => onDatagram(d);
  return { transport, sent, active, deliver, isClosed: () => closed };
}

const vs: VirtualServer = {
  family: 'IPv4',
  protocol: 'TCP',
  address: '10.96.0.10',
  port: 80,
  scheduler: 'rr',
  flags: 0,
  timeoutSeconds: 0,
  netmask: 0xffffffff,
};

describe('IpvsClient request/response handling', () => {
  it('resolves the family through nlctrl, then addresses IPVS requests to it with REQUEST|ACK', async () => {
    const f = fakeTransport((req) => [errorMsg(req, 0)]);
    const c = await IpvsClient.open({ transport: f.transport });
    expect(c.family).toBe(FAMILY);
    expect(f.sent[0]).toMatchObject({ type: 16, flags: 0x05 });
    await c.addService(vs);
    const add = f.sent[1]!;
    expect(add).toMatchObject({ type: FAMILY, flags: 0x05 });
    expect(decodeGenlMsg(add)).toMatchObject({ cmd: 1, version: 1 });
    expect(add.seq).not.toBe(f.sent[0]!.seq);
    expect(c.operations).toBe(1);
    c.close();
    expect(f.isClosed()).toBe(true);
  });

  it('maps kernel errnos to IpvsError with readable, operation-specific messages', async () => {
    const f = fakeTransport((req, cmd) => [errorMsg(req, cmd === 1 ? -17 : cmd === 3 ? -3 : -2)]);
    const c = await IpvsClient.open({ transport: f.transport });
    const e1 = await c.addService(vs).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(IpvsError);
    expect(e1).toMatchObject({ code: 'EEXIST', errno: 17, op: 'addService' });
    expect((e1 as Error).message).toBe('ipvs addService: service already exists (EEXIST)');
    await expect(c.deleteService(vs)).rejects.toThrow('no such service (ESRCH)');
    await expect(c.deleteDestination(vs, { address: '10.0.0.1', port: 1 })).rejects.toThrow('no such destination (ENOENT)');
    // Failed mutations still count: they were issued to the kernel.
    expect(c.operations).toBe(3);
    c.close();
  });

  it('collects a multipart dump spread over several datagrams until NLMSG_DONE', async () => {
    const f = fakeTransport((req) => [
      Buffer.concat([serviceEntry(req, 1), serviceEntry(req, 2)]),
      Buffer.concat([serviceEntry(req, 3), done(req)]),
    ]);
    const c = await IpvsClient.open({ transport: f.transport });
    const list = await c.listServices();
    expect(list.map((s) => s.address)).toEqual(['10.96.0.1', '10.96.0.2', '10.96.0.3']);
    expect(list[0]).toEqual({ ...vs, address: '10.96.0.1' });
    // NLM_F_REQUEST | NLM_F_DUMP, and no ACK (a dump ends with DONE instead).
    expect(f.sent[1]).toMatchObject({ flags: 0x301 });
    expect(c.operations).toBe(0);
    c.close();
  });

  it('rejects a dump that ends with an error', async () => {
    const f = fakeTransport((req) => [serviceEntry(req, 1), done(req, -1)]);
    const c = await IpvsClient.open({ transport: f.transport });
    await expect(c.listServices()).rejects.toMatchObject({ code: 'EPERM' });
    c.close();
  });

  it('routes concurrent requests by sequence number even when answered out of order', async () => {
    const held: NlMsg[] = [];
    const f = fakeTransport((req, cmd) => {
      if (cmd === 5) {
        held.push(req);
        return [];
      }
      // The delete arrives second but is answered first, together with the held add's error.
      return [errorMsg(req, 0), ...held.map((h) => errorMsg(h, -17))];
    });
    const c = await IpvsClient.open({ transport: f.transport });
    const rs = { address: '10.244.0.5', port: 8080, weight: 1, fwdMethod: 'Masq' as const };
    const add = c.addDestination(vs, rs).then(
      () => 'ok',
      (e: IpvsError) => e.code,
    );
    const del = c.deleteService(vs).then(() => 'ok');
    expect(await Promise.all([add, del])).toEqual(['EEXIST', 'ok']);
    c.close();
  });

  it('times out a request the kernel never answers and ignores the late answer', async () => {
    const late: NlMsg[] = [];
    const f = fakeTransport((req) => {
      late.push(req);
      return [];
    });
    const c = await IpvsClient.open({ transport: f.transport, timeoutMs: 30 });
    await expect(c.flush()).rejects.toThrow(/no answer from the kernel within 30 ms/);
    // Keep the event loop referenced only while something is outstanding.
    expect(f.active.at(-1)).toBe(false);
    // The answer arriving after the timeout must not settle the next request.
    const next = c.flush();
    expect(late).toHaveLength(2);
    f.deliver(errorMsg(late[0]!, -17));
    f.deliver(errorMsg(late[1]!, 0));
    await expect(next).resolves.toBeUndefined();
    c.close();
  });

  it('reports a missing IPVS family and closes the socket', async () => {
    let onDatagram: (d: Buffer) => void = () => undefined;
    let closed = false;
    const transport: NetlinkTransport = {
      send: async (d) => {
        const req = parseNlMsgs(d)[0]!;
        setImmediate(() => onDatagram(errorMsg(req, -2)));
      },
      onDatagram: (h) => void (onDatagram = h),
      onError: () => undefined,
      setActive: () => undefined,
      close: () => void (closed = true),
    };
    await expect(IpvsClient.open({ transport })).rejects.toThrow(/is the ip_vs module loaded/);
    expect(closed).toBe(true);
  });

  it('decodes GET_CONFIG into timeouts and rejects calls after close', async () => {
    const f = fakeTransport((req) => [
      genlReply(req, 12, [attrU32(4, 900), attrU32(5, 120), attrU32(6, 300)]),
      errorMsg(req, 0),
    ]);
    const c = await IpvsClient.open({ transport: f.transport });
    expect(await c.getTimeouts()).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    c.close();
    await expect(c.getTimeouts()).rejects.toThrow(/closed/);
  });
});
