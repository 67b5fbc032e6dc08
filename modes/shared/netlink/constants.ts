// Numeric constants of the netlink protocol itself (include/uapi/linux/netlink.h), shared by
// every netlink family this project speaks (generic netlink for IPVS, nfnetlink for nf_tables).
// Values are part of the stable kernel ABI (enums in uapi headers only ever grow at the end),
// so hard-coding them is safe.

// --- include/uapi/linux/netlink.h -------------------------------------------------------------

/** Socket protocol for generic netlink: socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC). */
export const NETLINK_GENERIC = 16;
/** Socket protocol for nfnetlink (nf_tables, conntrack, ...): NETLINK_NETFILTER. */
export const NETLINK_NETFILTER = 12;

/** sizeof(struct nlmsghdr): u32 len, u16 type, u16 flags, u32 seq, u32 pid. */
export const NLMSG_HDRLEN = 16;
/** Netlink aligns every message and attribute to 4 bytes (NLMSG_ALIGNTO / NLA_ALIGNTO). */
export const NL_ALIGNTO = 4;

// nlmsghdr.nlmsg_flags
export const NLM_F_REQUEST = 0x01;
/** Set on every message of a multipart (dump) reply; the dump ends with NLMSG_DONE. */
export const NLM_F_MULTI = 0x02;
/** Ask for an NLMSG_ERROR with error 0 on success, so every request gets exactly one answer. */
export const NLM_F_ACK = 0x04;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
/** NLM_F_ROOT | NLM_F_MATCH: run the family's dumpit handler instead of doit. */
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
// Modifiers of NEW requests.
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Echo the request (with what the kernel filled in, e.g. handles) back to the sender. */
export const NLM_F_ECHO = 0x08;
/** On an NLMSG_ERROR: the echoed request was cut to its header (payload not echoed). */
export const NLM_F_CAPPED = 0x100;
/** On an NLMSG_ERROR: extended-ACK TLVs follow the echoed request. */
export const NLM_F_ACK_TLVS = 0x200;

// Reserved control message types (below NLMSG_MIN_TYPE = 0x10).
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** enum nlmsgerr_attrs: NLMSGERR_ATTR_MSG carries a human-readable NUL-terminated string. */
export const NLMSGERR_ATTR_MSG = 1;

/** nlattr.nla_type high bits; the attribute number is the low 14 bits (NLA_TYPE_MASK). */
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
/** sizeof(struct nlattr): u16 len, u16 type. */
export const NLA_HDRLEN = 4;

