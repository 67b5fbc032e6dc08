// Test helper: a netlink message as a tree of attributes (nests recognised by NLA_F_NESTED, which
// nft sets on every nest it sends), to apply a documented normalisation to a captured message
// and write it back byte for byte.

export interface AttrNode {
  /** The raw nla_type, flag bits included. */
  type: number;
  payload?: Buffer;
  children?: AttrNode[];
}

export interface MsgTree {
  /** nlmsghdr + nfgenmsg. */
  head: Buffer;
  attrs: AttrNode[];
}

export function parseTree(buf: Buffer): AttrNode[] {
  const out: AttrNode[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2);
    const p = buf.subarray(off + 4, off + len);
    out.push(type & 0x8000 ? { type, children: parseTree(p) } : { type, payload: Buffer.from(p) });
    off += (len + 3) & ~3;
  }
  return out;
}

export function writeTree(nodes: readonly AttrNode[]): Buffer {
  const parts: Buffer[] = [];
  for (const n of nodes) {
    const p = n.children ? writeTree(n.children) : (n.payload ?? Buffer.alloc(0));
    const h = Buffer.alloc(4);
    h.writeUInt16LE(4 + p.length, 0);
    h.writeUInt16LE(n.type, 2);
    parts.push(h, p, Buffer.alloc(((4 + p.length + 3) & ~3) - 4 - p.length));
  }
  return Buffer.concat(parts);
}

export function parseMsg(msg: Buffer): MsgTree {
  return { head: Buffer.from(msg.subarray(0, 20)), attrs: parseTree(msg.subarray(20)) };
}

export function writeMsg(t: MsgTree): Buffer {
  const body = writeTree(t.attrs);
  const head = Buffer.from(t.head);
  head.writeUInt32LE(20 + body.length, 0);
  return Buffer.concat([head, body]);
}

/** The expressions of a NEWRULE: [name, data children] per NFTA_LIST_ELEM. */
export function ruleExprs(t: MsgTree): { name: string; data: AttrNode[] | undefined }[] {
  const list = t.attrs.find((a) => (a.type & 0x3fff) === 4 /* NFTA_RULE_EXPRESSIONS */);
  return (list?.children ?? []).map((elem) => {
    const name = elem.children?.find((c) => c.type === 1)?.payload?.toString('latin1').replace(/\0+$/, '') ?? '';
    const data = elem.children?.find((c) => (c.type & 0x3fff) === 2)?.children;
    return { name, data };
  });
}

export const be32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
};
