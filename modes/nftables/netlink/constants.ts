// nf_tables' numbers (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h, netfilter.h) and
// the userdata type numbers of libnftnl (include/libnftnl/udata.h), which nft reads to print
// objects readably. Values are stable kernel/library ABI.

// --- nfnetlink --------------------------------------------------------------------------------
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
export const NFNETLINK_V0 = 0;

// --- message types (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*) -------------------------------------
export const NFT_MSG_NEWTABLE = 0;
export const NFT_MSG_GETTABLE = 1;
export const NFT_MSG_DELTABLE = 2;
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_DELCHAIN = 5;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_DELRULE = 8;
export const NFT_MSG_NEWSET = 9;
export const NFT_MSG_GETSET = 10;
export const NFT_MSG_DELSET = 11;
export const NFT_MSG_NEWSETELEM = 12;
export const NFT_MSG_GETSETELEM = 13;
export const NFT_MSG_DELSETELEM = 14;
export const NFT_MSG_NEWGEN = 15;
export const NFT_MSG_GETGEN = 16;

export const nftMsgType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

// --- families (NFPROTO_*) ---------------------------------------------------------------------
export const NFPROTO_UNSPEC = 0;
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

// --- attributes --------------------------------------------------------------------------------
export const NFTA_LIST_ELEM = 1;

export const NFTA_HOOK_HOOKNUM = 1;
export const NFTA_HOOK_PRIORITY = 2;

export const NFTA_TABLE_NAME = 1;
export const NFTA_TABLE_FLAGS = 2;
export const NFTA_TABLE_USE = 3;
export const NFTA_TABLE_HANDLE = 4;
export const NFTA_TABLE_USERDATA = 6;

export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_HANDLE = 2;
export const NFTA_CHAIN_NAME = 3;
export const NFTA_CHAIN_HOOK = 4;
export const NFTA_CHAIN_POLICY = 5;
export const NFTA_CHAIN_TYPE = 7;
export const NFTA_CHAIN_USERDATA = 12;

export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_HANDLE = 3;
export const NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_RULE_POSITION = 6;
export const NFTA_RULE_USERDATA = 7;

export const NFT_SET_ANONYMOUS = 0x1;
export const NFT_SET_CONSTANT = 0x2;
export const NFT_SET_INTERVAL = 0x4;
export const NFT_SET_MAP = 0x8;
export const NFT_SET_TIMEOUT = 0x10;
export const NFT_SET_EVAL = 0x20;
export const NFT_SET_OBJECT = 0x40;
export const NFT_SET_CONCAT = 0x80;

export const NFTA_SET_DESC_SIZE = 1;
export const NFTA_SET_DESC_CONCAT = 2;
export const NFTA_SET_FIELD_LEN = 1;

export const NFTA_SET_TABLE = 1;
export const NFTA_SET_NAME = 2;
export const NFTA_SET_FLAGS = 3;
export const NFTA_SET_KEY_TYPE = 4;
export const NFTA_SET_KEY_LEN = 5;
export const NFTA_SET_DATA_TYPE = 6;
export const NFTA_SET_DATA_LEN = 7;
export const NFTA_SET_POLICY = 8;
export const NFTA_SET_DESC = 9;
export const NFTA_SET_ID = 10;
export const NFTA_SET_TIMEOUT = 11;
export const NFTA_SET_GC_INTERVAL = 12;
export const NFTA_SET_USERDATA = 13;
export const NFTA_SET_HANDLE = 16;

export const NFT_SET_ELEM_INTERVAL_END = 0x1;
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_DATA = 2;
export const NFTA_SET_ELEM_FLAGS = 3;
export const NFTA_SET_ELEM_TIMEOUT = 4;
export const NFTA_SET_ELEM_EXPIRATION = 5;
export const NFTA_SET_ELEM_USERDATA = 6;
export const NFTA_SET_ELEM_KEY_END = 10;

export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_SET_ELEM_LIST_SET_ID = 4;

export const NFT_DATA_VERDICT = 0xffffff00;
export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;

export const NFTA_GEN_ID = 1;

export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;

// Verdict codes: netfilter's NF_DROP/NF_ACCEPT and nf_tables' negative ones.
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NFT_CONTINUE = -1;
export const NFT_BREAK = -2;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const NFT_RETURN = -5;

// Hooks (NF_INET_*).
export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;

// NAT range flags (include/uapi/linux/netfilter/nf_nat.h).
export const NF_NAT_RANGE_MAP_IPS = 1 << 0;
export const NF_NAT_RANGE_PROTO_SPECIFIED = 1 << 1;
export const NF_NAT_RANGE_PROTO_RANDOM = 1 << 2;
export const NF_NAT_RANGE_PERSISTENT = 1 << 3;
export const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 1 << 4;

// Expression attributes.
export const NFTA_IMMEDIATE_DREG = 1;
export const NFTA_IMMEDIATE_DATA = 2;
export const NFTA_BITWISE_SREG = 1;
export const NFTA_BITWISE_DREG = 2;
export const NFTA_BITWISE_LEN = 3;
export const NFTA_BITWISE_MASK = 4;
export const NFTA_BITWISE_XOR = 5;
export const NFTA_BITWISE_OP = 6;
export const NFTA_CMP_SREG = 1;
export const NFTA_CMP_OP = 2;
export const NFTA_CMP_DATA = 3;
export const NFTA_LOOKUP_SET = 1;
export const NFTA_LOOKUP_SREG = 2;
export const NFTA_LOOKUP_DREG = 3;
export const NFTA_LOOKUP_SET_ID = 4;
export const NFTA_LOOKUP_FLAGS = 5;
export const NFT_LOOKUP_F_INV = 1;
export const NFTA_DYNSET_SET_NAME = 1;
export const NFTA_DYNSET_SET_ID = 2;
export const NFTA_DYNSET_OP = 3;
export const NFTA_DYNSET_SREG_KEY = 4;
export const NFTA_DYNSET_SREG_DATA = 5;
export const NFTA_DYNSET_TIMEOUT = 6;
export const NFTA_DYNSET_FLAGS = 9;
export const NFTA_PAYLOAD_DREG = 1;
export const NFTA_PAYLOAD_BASE = 2;
export const NFTA_PAYLOAD_OFFSET = 3;
export const NFTA_PAYLOAD_LEN = 4;
export const NFTA_META_DREG = 1;
export const NFTA_META_KEY = 2;
export const NFTA_META_SREG = 3;
export const NFTA_CT_DREG = 1;
export const NFTA_CT_KEY = 2;
export const NFTA_CT_DIRECTION = 3;
export const NFTA_FIB_DREG = 1;
export const NFTA_FIB_RESULT = 2;
export const NFTA_FIB_FLAGS = 3;
export const NFTA_NAT_TYPE = 1;
export const NFTA_NAT_FAMILY = 2;
export const NFTA_NAT_REG_ADDR_MIN = 3;
export const NFTA_NAT_REG_ADDR_MAX = 4;
export const NFTA_NAT_REG_PROTO_MIN = 5;
export const NFTA_NAT_REG_PROTO_MAX = 6;
export const NFTA_NAT_FLAGS = 7;
export const NFTA_MASQ_FLAGS = 1;
export const NFTA_NG_DREG = 1;
export const NFTA_NG_MODULUS = 2;
export const NFTA_NG_TYPE = 3;
export const NFTA_NG_OFFSET = 4;
export const NFTA_REJECT_TYPE = 1;
export const NFTA_REJECT_ICMP_CODE = 2;
export const NFTA_COUNTER_BYTES = 1;
export const NFTA_COUNTER_PACKETS = 2;

// --- libnftnl userdata (TLVs of u8 type, u8 length) ------------------------------------------
export const NFTNL_UDATA_TABLE_COMMENT = 0;
export const NFTNL_UDATA_CHAIN_COMMENT = 0;
export const NFTNL_UDATA_RULE_COMMENT = 0;
export const NFTNL_UDATA_SET_KEYBYTEORDER = 0;
export const NFTNL_UDATA_SET_DATABYTEORDER = 1;
export const NFTNL_UDATA_SET_KEY_TYPEOF = 3;
export const NFTNL_UDATA_SET_DATA_TYPEOF = 4;
export const NFTNL_UDATA_SET_DATA_INTERVAL = 6;
export const NFTNL_UDATA_SET_COMMENT = 7;
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0;
/** Inside KEY_TYPEOF: the nft expression type, and its (here empty) description. */
export const NFTNL_UDATA_SET_TYPEOF_EXPR = 0;
export const NFTNL_UDATA_SET_TYPEOF_DATA = 1;
/** nft's `enum expr_types` value of a concatenation. */
export const NFT_EXPR_CONCAT = 13;
/** nft's EXPR_PAYLOAD and EXPR_NUMGEN (enum expr_types), for `typeof` set declarations. */
export const NFT_EXPR_PAYLOAD = 7;
export const NFT_EXPR_NUMGEN = 23;

/** nft's `enum byteorder`, recorded in set userdata so `nft list` prints keys readably. */
export const BYTEORDER_INVALID = 0;
export const BYTEORDER_HOST_ENDIAN = 1;
export const BYTEORDER_BIG_ENDIAN = 2;

/** nft's `enum datatypes` numbers this project uses. */
export const NFT_TYPE = {
  verdict: 1,
  integer: 4,
  ipv4_addr: 7,
  ipv6_addr: 8,
  ether_addr: 9,
  inet_proto: 12,
  inet_service: 13,
  mark: 19,
  ifname: 41,
} as const;
/** nft's TYPE_BITS: a concatenated type is its fields' types shifted together this far apart. */
export const NFT_TYPE_BITS = 6;
