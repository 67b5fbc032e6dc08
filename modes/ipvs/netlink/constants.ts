// Numeric constants of generic netlink and IPVS, with their uapi origin. The netlink protocol's
// own constants live in modes/shared/netlink/constants.ts. Values are part of the stable kernel
// ABI, so hard-coding them is safe; nothing here is negotiated at run time except the IPVS
// family id.

// --- include/uapi/linux/genetlink.h -----------------------------------------------------------

/** sizeof(struct genlmsghdr): u8 cmd, u8 version, u16 reserved. */
export const GENL_HDRLEN = 4;
/** The controller family ("nlctrl") always has this fixed id; it resolves the others. */
export const GENL_ID_CTRL = 16;
export const CTRL_VERSION = 1;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;

// --- include/uapi/linux/ip_vs.h ---------------------------------------------------------------

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

// enum { IPVS_CMD_UNSPEC = 0, ... }
export const IPVS_CMD_NEW_SERVICE = 1;
export const IPVS_CMD_SET_SERVICE = 2;
export const IPVS_CMD_DEL_SERVICE = 3;
export const IPVS_CMD_GET_SERVICE = 4;
export const IPVS_CMD_NEW_DEST = 5;
export const IPVS_CMD_SET_DEST = 6;
export const IPVS_CMD_DEL_DEST = 7;
export const IPVS_CMD_GET_DEST = 8;
export const IPVS_CMD_NEW_DAEMON = 9;
export const IPVS_CMD_DEL_DAEMON = 10;
export const IPVS_CMD_GET_DAEMON = 11;
export const IPVS_CMD_SET_CONFIG = 12;
export const IPVS_CMD_GET_CONFIG = 13;
/** Only used as the command of the GET_INFO reply. */
export const IPVS_CMD_SET_INFO = 14;
export const IPVS_CMD_GET_INFO = 15;
export const IPVS_CMD_ZERO = 16;
export const IPVS_CMD_FLUSH = 17;

// First-level attributes of every IPVS command.
export const IPVS_CMD_ATTR_SERVICE = 1; // nested, IPVS_SVC_ATTR_*
export const IPVS_CMD_ATTR_DEST = 2; // nested, IPVS_DEST_ATTR_*
export const IPVS_CMD_ATTR_DAEMON = 3;
export const IPVS_CMD_ATTR_TIMEOUT_TCP = 4; // u32 seconds
export const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN = 5; // u32 seconds
export const IPVS_CMD_ATTR_TIMEOUT_UDP = 6; // u32 seconds

// Service attributes (nested in IPVS_CMD_ATTR_SERVICE). Kernel policy: AF u16, PROTOCOL u16,
// ADDR binary <= sizeof(union nf_inet_addr), PORT u16 holding a __be16, FWMARK u32,
// SCHED_NAME NUL string <= 16, FLAGS binary struct ip_vs_flags, TIMEOUT u32, NETMASK u32
// holding a __be32, STATS nested.
export const IPVS_SVC_ATTR_AF = 1;
export const IPVS_SVC_ATTR_PROTOCOL = 2;
export const IPVS_SVC_ATTR_ADDR = 3;
export const IPVS_SVC_ATTR_PORT = 4;
export const IPVS_SVC_ATTR_FWMARK = 5;
export const IPVS_SVC_ATTR_SCHED_NAME = 6;
export const IPVS_SVC_ATTR_FLAGS = 7;
export const IPVS_SVC_ATTR_TIMEOUT = 8;
export const IPVS_SVC_ATTR_NETMASK = 9;
export const IPVS_SVC_ATTR_STATS = 10;
export const IPVS_SVC_ATTR_PE_NAME = 11;
export const IPVS_SVC_ATTR_STATS64 = 12;

// Destination attributes (nested in IPVS_CMD_ATTR_DEST). Kernel policy: ADDR binary, PORT u16
// holding a __be16, FWD_METHOD/WEIGHT/U_THRESH/L_THRESH/*_CONNS u32, ADDR_FAMILY u16.
export const IPVS_DEST_ATTR_ADDR = 1;
export const IPVS_DEST_ATTR_PORT = 2;
export const IPVS_DEST_ATTR_FWD_METHOD = 3;
export const IPVS_DEST_ATTR_WEIGHT = 4;
export const IPVS_DEST_ATTR_U_THRESH = 5;
export const IPVS_DEST_ATTR_L_THRESH = 6;
export const IPVS_DEST_ATTR_ACTIVE_CONNS = 7;
export const IPVS_DEST_ATTR_INACT_CONNS = 8;
export const IPVS_DEST_ATTR_PERSIST_CONNS = 9;
export const IPVS_DEST_ATTR_STATS = 10;
export const IPVS_DEST_ATTR_ADDR_FAMILY = 11;

// Attributes of the GET_INFO reply.
export const IPVS_INFO_ATTR_VERSION = 1;
export const IPVS_INFO_ATTR_CONN_TAB_SIZE = 2;

/** Virtual service flag: persistent (session affinity) service. */
export const IP_VS_SVC_F_PERSISTENT = 0x0001;
/** Set by the kernel on every service in its table; never meaningful to request. */
export const IP_VS_SVC_F_HASHED = 0x0002;

// Forwarding methods: the low 3 bits of the connection flags (IP_VS_CONN_F_FWD_MASK).
export const IP_VS_CONN_F_FWD_MASK = 0x0007;
export const IP_VS_CONN_F_MASQ = 0x0000;
export const IP_VS_CONN_F_LOCALNODE = 0x0001;
export const IP_VS_CONN_F_TUNNEL = 0x0002;
export const IP_VS_CONN_F_DROUTE = 0x0003;

export const IP_VS_SCHEDNAME_MAXLEN = 16;

// --- include/uapi/linux/socket.h, in.h ----------------------------------------------------------

export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
