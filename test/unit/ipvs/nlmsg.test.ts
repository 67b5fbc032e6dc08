import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { decodeFamilyId, decodeGenlMsg, encodeGenlMsg, encodeGetFamily } from '../../../modes/ipvs/netlink/genl.js';
import { decodeDoneError, decodeNlError, encodeNlMsg, parseNlMsgs } from '../../../modes/shared/netlink/nlmsg.js';
import { hex, toHex } from './hex.js';

describe.runIf(endianness() === 'LE')('netlink and genl framing', () => {
  it('nlmsghdr: len, type, flags, seq, pid in host order; payload padded to 4', () => {
    const m = encodeNlMsg({ type: 0x20, flags: 0x0005, seq: 0x01020304, pid: 0 }, hex('aa'));
    // nlmsg_len is 17 (unpadded) although 20 bytes are emitted.
    expect(toHex(m)).toBe(toHex(hex('11000000 2000 0500 04030201 00000000 aa000000')));
  });

  it('CTRL_CMD_GETFAMILY "IPVS" to nlctrl (id 16), REQUEST|ACK', () => {
    expect(toHex(encodeGetFamily('IPVS', 7))).toBe(
      toHex(
        hex(
          '20000000 1000 0500 07000000 00000000', // nlmsghdr: len 32, GENL_ID_CTRL, REQUEST|ACK, seq 7
          '03 01 0000', // genlmsghdr: CTRL_CMD_GETFAMILY, version 1
          '0900 0200 49505653 00 000000', // CTRL_ATTR_FAMILY_NAME "IPVS\0"
        ),
      ),
    );
  });

  it('decodes the family id from a CTRL_CMD_NEWFAMILY reply', () => {
    const reply = hex(
      '28000000 1000 0000 07000000 00000000',
      '01 02 0000', // CTRL_CMD_NEWFAMILY, version 2
      '0900 0200 49505653 00 000000', // FAMILY_NAME
      '0600 0100 2000 0000', // FAMILY_ID = 32
    );
    const [msg] = parseNlMsgs(reply);
    expect(decodeFamilyId(msg!)).toBe(32);
  });

  it('splits a datagram holding several messages', () => {
    const a = encodeGenlMsg({ family: 32, cmd: 1, version: 1, flags: 2, seq: 9, attrs: [hex('0500 0100 01000000')] });
    const done = hex('14000000 0300 0200 09000000 00000000 00000000');
    const msgs = parseNlMsgs(Buffer.concat([a, done]));
    expect(msgs.map((m) => [m.type, m.flags, m.seq])).toEqual([
      [32, 2, 9],
      [3, 2, 9],
    ]);
    // The payload excludes the alignment padding of the 5-byte attribute's message.
    expect(decodeGenlMsg(msgs[0]!)).toMatchObject({ cmd: 1, version: 1 });
    expect(msgs[0]!.payload.length).toBe(4 + 8);
    expect(decodeDoneError(msgs[1]!)).toBe(0);
  });

  it('rejects a message whose length runs past the datagram', () => {
    expect(() => parseNlMsgs(hex('40000000 0300 0000 00000000 00000000'))).toThrow(/malformed/);
  });

  it('NLMSG_ERROR: ACK, negative errno and the echoed sequence', () => {
    const ack = hex('24000000 0200 0001 05000000 00000000', '00000000', '20000000 2000 0500 05000000 00000000');
    expect(decodeNlError(parseNlMsgs(ack)[0]!)).toEqual({ error: 0, requestSeq: 5 });
    const eexist = hex('24000000 0200 0001 06000000 00000000', 'efffffff', '5c000000 2000 0500 06000000 00000000');
    expect(decodeNlError(parseNlMsgs(eexist)[0]!)).toEqual({ error: -17, requestSeq: 6 });
  });

  it('NLMSG_ERROR with extended ACK message (capped echo + NLMSGERR_ATTR_MSG)', () => {
    const m = hex(
      '2c000000 0200 0003 06000000 00000000', // flags NLM_F_CAPPED|NLM_F_ACK_TLVS
      'eaffffff', // -EINVAL
      '5c000000 2000 0500 06000000 00000000', // echoed header only
      '0800 0100 62616400', // NLMSGERR_ATTR_MSG "bad\0"
    );
    expect(decodeNlError(parseNlMsgs(m)[0]!)).toEqual({ error: -22, requestSeq: 6, extMessage: 'bad' });
  });
});
