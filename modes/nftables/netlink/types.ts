// The nf_tables objects this project programs, at the level the kernel sees them (the level of
// libnftnl, not of nft's language): tables, chains, rules as expression lists over registers,
// sets/maps and their elements. The ruleset renderer (modes/nftables/render) produces these; the
// codec (modes/nftables/netlink) encodes them into netlink messages and decodes dumps back into
// them, so that a dump can be compared with what was rendered.
//
// Values are in the kernel's terms: register numbers are the kernel's (NFT_REG_VERDICT = 0,
// NFT_REG32_00 = 8 … NFT_REG32_15 = 23), data is raw bytes in the byte order the kernel compares
// (network order for addresses and ports, host order for meta/ct integers).

export type NftFamily = 'ip' | 'ip6' | 'inet';

/** Registers: 0 is the verdict register; 8..23 are the 32-bit data registers. */
export type Reg = number;
export const REG_VERDICT: Reg = 0;
export const REG32_00: Reg = 8;
/** The first 128-bit register (overlays REG32_00..03); nft itself writes this number for it. */
export const REG_1: Reg = 1;

export type PayloadBase = 'll' | 'network' | 'transport';
export type CmpOp = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte';
export type MetaKey = 'len' | 'protocol' | 'mark' | 'iif' | 'oif' | 'iifname' | 'oifname' | 'nfproto' | 'l4proto' | 'pkttype';
export type CtKey =
  | 'state'
  | 'direction'
  | 'status'
  | 'mark'
  | 'l3protocol'
  | 'src'
  | 'dst'
  | 'protocol'
  | 'proto-src'
  | 'proto-dst'
  /** Family-specific address keys (NFT_CT_SRC_IP etc.): what nft uses for `ct original ip daddr`. */
  | 'src-ip'
  | 'dst-ip'
  | 'src-ip6'
  | 'dst-ip6';
export type FibResult = 'oif' | 'oifname' | 'type';
export interface FibFlags {
  readonly saddr?: boolean;
  readonly daddr?: boolean;
  readonly mark?: boolean;
  readonly iif?: boolean;
  readonly oif?: boolean;
  readonly present?: boolean;
}

export type VerdictCode = 'accept' | 'drop' | 'continue' | 'return' | 'jump' | 'goto';
export interface Verdict {
  readonly code: VerdictCode;
  /** For jump and goto. */
  readonly chain?: string;
}

export type Expr =
  | { readonly type: 'payload'; readonly base: PayloadBase; readonly offset: number; readonly len: number; readonly dreg: Reg }
  | { readonly type: 'meta'; readonly key: MetaKey; readonly dreg: Reg }
  | { readonly type: 'meta-set'; readonly key: MetaKey; readonly sreg: Reg }
  | { readonly type: 'cmp'; readonly sreg: Reg; readonly op: CmpOp; readonly data: Uint8Array }
  | {
      readonly type: 'bitwise';
      readonly sreg: Reg;
      readonly dreg: Reg;
      readonly len: number;
      readonly mask: Uint8Array;
      readonly xor: Uint8Array;
    }
  | {
      readonly type: 'lookup';
      readonly sreg: Reg;
      readonly set: string;
      /** Present for maps: the looked-up value goes here (REG_VERDICT for verdict maps). */
      readonly dreg?: Reg;
      readonly invert?: boolean;
    }
  | { readonly type: 'immediate'; readonly dreg: Reg; readonly data: Uint8Array }
  | { readonly type: 'verdict'; readonly verdict: Verdict }
  | { readonly type: 'ct'; readonly key: CtKey; readonly dreg: Reg; readonly direction?: 'original' | 'reply' }
  | { readonly type: 'fib'; readonly result: FibResult; readonly flags: FibFlags; readonly dreg: Reg }
  | {
      readonly type: 'nat';
      readonly nat: 'snat' | 'dnat';
      readonly family: 'ip' | 'ip6';
      readonly regAddrMin?: Reg;
      readonly regProtoMin?: Reg;
      /** NF_NAT_RANGE_* flags (e.g. persistent, random-fully); 0 if none. */
      readonly flags?: number;
    }
  | { readonly type: 'masq'; readonly flags?: number }
  | { readonly type: 'numgen'; readonly dreg: Reg; readonly modulus: number; readonly mode: 'random' | 'inc'; readonly offset?: number }
  | { readonly type: 'reject'; readonly kind: 'icmp' | 'tcp-rst' | 'icmpx'; readonly code: number }
  | { readonly type: 'counter'; readonly packets?: bigint; readonly bytes?: bigint }
  | {
      readonly type: 'dynset';
      readonly op: 'add' | 'update';
      readonly set: string;
      readonly sregKey: Reg;
      readonly sregData?: Reg;
      /** Milliseconds; absent = the set's default timeout. */
      readonly timeoutMs?: number;
    }
  | { readonly type: 'notrack' };

export interface BaseChainSpec {
  readonly type: 'filter' | 'nat' | 'route';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly priority: number;
  readonly policy?: 'accept' | 'drop';
}

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  /** Stored as the table's userdata comment. */
  readonly comment?: string;
  /** Kernel handle (set in dumps). */
  readonly handle?: bigint;
}

export interface NftChain {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly base?: BaseChainSpec;
  /** Stored as the chain's userdata comment (`nft list` shows `comment "..."`). */
  readonly comment?: string;
  readonly handle?: bigint;
}

export interface NftRule {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly exprs: readonly Expr[];
  /** Stored as the rule's userdata comment (what `nft list` shows as `comment "..."`). */
  readonly comment?: string;
  /** Kernel handle: set in dumps and in the echo of an add; required for replace/delete. */
  readonly handle?: bigint;
  /**
   * Set only in dumps, when the kernel returned an expression this model has no shape for (e.g.
   * `log` added by someone else): names it, so that comparing with a rendered rule finds a
   * difference and the rule gets replaced instead of the dump failing.
   */
  readonly undecodable?: string;
}

/**
 * Data types as nft numbers them (nft's `enum datatypes`), so that `nft list` prints elements
 * readably: ipv4_addr 7, ipv6_addr 8, inet_proto 12, inet_service 13, mark 19, ifname 41,
 * verdict 0xffffff00. A concatenation's type is the types shifted together 6 bits apart.
 */
export interface NftSet {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly keyType: number;
  /** Bytes; for a concatenation, the sum of the fields each rounded up to 4. */
  readonly keyLen: number;
  /**
   * Userdata only (the kernel and the planner ignore it): an endpoint map of a service port of
   * this protocol, declared `typeof numgen random mod M : ip daddr . <proto> dport` so that `nft
   * list` can name its plain 32-bit integer key (otherwise printed as "type 0").
   */
  readonly endpointMapOf?: 'tcp' | 'udp' | 'sctp';
  /**
   * A shared endpoint map keyed by destination plus numgen slot: 'ip' for
   * `typeof ip daddr . meta l4proto . th dport . numgen random mod 65536 : ip daddr . th dport`,
   * 'port' for the NodePort form without the address (see udata.ts).
   */
  readonly flatEndpointsOf?: 'ip' | 'port';
  /** Field lengths of a concatenated key (NFTA_SET_DESC_CONCAT), needed with `interval`. */
  readonly concat?: readonly number[];
  /** Set for maps; 'verdict' makes a verdict map. */
  readonly data?: { readonly type: number | 'verdict'; readonly len: number };
  readonly interval?: boolean;
  readonly timeout?: boolean;
  /** Default element timeout in milliseconds (with `timeout`). */
  readonly timeoutMs?: number;
  /** Elements added by the packet path (dynset), e.g. affinity sets. */
  readonly dynamic?: boolean;
  /**
   * Maximum number of elements (NFTA_SET_DESC_SIZE). The kernel reports 65535 for a timeout or
   * dynamic set created without one; dumps leave that default out so it compares equal to "not
   * given".
   */
  readonly size?: number;
  readonly comment?: string;
  readonly handle?: bigint;
}

export interface NftElement {
  readonly key: Uint8Array;
  /** End of an interval (concatenated interval sets); plain interval sets use a second element. */
  readonly keyEnd?: Uint8Array;
  /** For an interval set's end element (NFT_SET_ELEM_INTERVAL_END). */
  readonly intervalEnd?: boolean;
  readonly data?: Uint8Array;
  readonly verdict?: Verdict;
  readonly timeoutMs?: number;
  /** In dumps of timeout sets. */
  readonly expiresMs?: number;
  readonly comment?: string;
}

/** One operation of a transaction; a batch applies all of them or none. */
export type NftOp =
  | { readonly op: 'add-table'; readonly table: NftTable }
  | { readonly op: 'delete-table'; readonly table: NftTable }
  | { readonly op: 'add-chain'; readonly chain: NftChain }
  | { readonly op: 'delete-chain'; readonly chain: NftChain }
  | { readonly op: 'flush-chain'; readonly chain: NftChain }
  | { readonly op: 'add-rule'; readonly rule: NftRule }
  /** Replaces the rule with `rule.handle` in place. */
  | { readonly op: 'replace-rule'; readonly rule: NftRule }
  | { readonly op: 'delete-rule'; readonly rule: NftRule }
  | { readonly op: 'add-set'; readonly set: NftSet }
  | { readonly op: 'delete-set'; readonly set: NftSet }
  | { readonly op: 'flush-set'; readonly set: NftSet }
  /**
   * `keys`, when given, are the elements' elementKey texts in the same order (the planner has
   * them): the record then keeps those strings instead of making a second copy of each key;
   * `values` likewise their elementValue texts (what the record keeps of each element). Never
   * encoded.
   */
  | { readonly op: 'add-elements'; readonly set: NftSet; readonly elements: readonly NftElement[]; readonly keys?: readonly string[]; readonly values?: readonly string[] }
  | { readonly op: 'delete-elements'; readonly set: NftSet; readonly elements: readonly NftElement[]; readonly keys?: readonly string[] };

export interface DumpOptions {
  /** Sets whose elements are not dumped (listed with none): the caller never compares them. */
  readonly skipElementsOf?: (s: NftSet) => boolean;
}

export interface CommitResult {
  /** Per op index: the handle the kernel gave an added rule/chain/set (echo), else undefined. */
  readonly handles: readonly (bigint | undefined)[];
  /** Bytes sent to the kernel in this batch. */
  readonly bytes: number;
  /** Milliseconds from sending the batch to the last ACK (the kernel's share). */
  readonly kernelMs: number;
  /** The client's quietEpoch() value after this commit (clients that have one). */
  readonly epoch?: number;
}

/** What a dump of one table returns. */
export interface NftTableDump {
  readonly table: NftTable;
  readonly chains: readonly NftChain[];
  readonly rules: readonly NftRule[];
  readonly sets: readonly NftSet[];
  /** Elements by set name. */
  readonly elements: ReadonlyMap<string, readonly NftElement[]>;
}

/**
 * The narrow adapter the nftables dataplane talks to. The real one speaks netlink; a fake in
 * test/fakes/nftables applies ops to an in-memory table with the kernel's all-or-nothing rule.
 */
export interface NftClient {
  /**
   * Send `ops` as one batch. All or nothing: on failure throws an NftCommitError naming the op
   * index, the object and the errno the kernel gave for it.
   */
  commit(ops: readonly NftOp[]): Promise<CommitResult>;
  /** Dump one table; undefined if it does not exist. */
  dumpTable(family: NftFamily, name: string, opts?: DumpOptions): Promise<NftTableDump | undefined>;
  /**
   * Optional: a number that stays the same while nothing but this client's own commits changed
   * the namespace's nf_tables ruleset (see NftNetlinkClient.quietEpoch). A client without it
   * makes every full sync dump.
   */
  quietEpoch?(): Promise<number>;
  close(): Promise<void>;
}
