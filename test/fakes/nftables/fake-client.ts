// An in-memory nf_tables for unit tests: applies batches all-or-nothing with the kernel's errors
// for the mistakes a planner can make (ENOENT for a missing table/chain/set/rule/element or a
// reference to one, EEXIST for an existing object or element key, EBUSY for deleting something
// still referenced or a chain with rules, EINVAL for a key or data of the wrong length).

import { NftCommitError } from '../../../modes/nftables/netlink/errors.js';
import type {
  CommitResult,
  Expr,
  NftChain,
  NftClient,
  NftElement,
  NftFamily,
  NftOp,
  NftRule,
  NftSet,
  NftTableDump,
} from '../../../modes/nftables/netlink/types.js';

const ENOENT = 2;
const EEXIST = 17;
const EBUSY = 16;
const EINVAL = 22;

interface FakeTable {
  handle: bigint;
  chains: Map<string, { chain: NftChain; rules: NftRule[] }>;
  sets: Map<string, { set: NftSet; elements: Map<string, NftElement> }>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const elKey = (e: NftElement): string => (e.keyEnd ? `${hex(e.key)}-${hex(e.keyEnd)}` : hex(e.key));
const pad4 = (n: number): number => (n + 3) & ~3;

function cloneTable(t: FakeTable): FakeTable {
  return {
    handle: t.handle,
    chains: new Map([...t.chains].map(([k, v]) => [k, { chain: v.chain, rules: [...v.rules] }])),
    sets: new Map([...t.sets].map(([k, v]) => [k, { set: v.set, elements: new Map(v.elements) }])),
  };
}

export interface FakeCommit {
  readonly ops: readonly NftOp[];
  readonly bytes: number;
}

export class FakeNftClient implements NftClient {
  private tables = new Map<string, FakeTable>();
  private nextHandle = 1n;
  readonly commits: FakeCommit[] = [];
  private failWith: number | undefined;

  /** Make the next commit fail on its first op with this errno (e.g. to test retries). */
  failNext(errno: number): void {
    this.failWith = errno;
  }

  /** Someone else (nft, firewalld) deletes our table. */
  externalDeleteTable(family: NftFamily, name: string): void {
    this.tables.delete(`${family} ${name}`);
  }

  /** Someone else flushes a chain (`nft flush chain`). */
  externalFlushChain(family: NftFamily, table: string, chain: string): void {
    const c = this.tables.get(`${family} ${table}`)?.chains.get(chain);
    if (c) c.rules = [];
  }

  /** Someone else removes a set element. */
  externalDeleteElement(family: NftFamily, table: string, set: string, key: string): void {
    this.tables.get(`${family} ${table}`)?.sets.get(set)?.elements.delete(key);
  }

  tableNames(): string[] {
    return [...this.tables.keys()];
  }

  async commit(ops: readonly NftOp[]): Promise<CommitResult> {
    const work = new Map([...this.tables].map(([k, t]) => [k, cloneTable(t)]));
    const handles: (bigint | undefined)[] = [];
    let nextHandle = this.nextHandle;
    ops.forEach((op, i) => {
      const fail = (errno: number, what: string): never => {
        throw new NftCommitError(i, op, errno, `op ${i} (${op.op}): ${what}`);
      };
      if (this.failWith !== undefined) {
        const e = this.failWith;
        this.failWith = undefined;
        fail(e, 'injected failure');
      }
      handles.push(this.applyOp(work, op, fail, () => nextHandle++));
    });
    this.tables = work;
    this.nextHandle = nextHandle;
    const bytes = JSON.stringify(ops, (_k, v: unknown) => (v instanceof Uint8Array ? hex(v) : typeof v === 'bigint' ? String(v) : v)).length;
    this.commits.push({ ops, bytes });
    return { handles, bytes, kernelMs: 0 };
  }

  private applyOp(work: Map<string, FakeTable>, op: NftOp, fail: (errno: number, what: string) => never, handle: () => bigint): bigint | undefined {
    const ref = 'table' in op ? op.table : 'chain' in op ? op.chain : 'rule' in op ? op.rule : op.set;
    const tkey = `${ref.family} ${'name' in ref && op.op.endsWith('-table') ? ref.name : (ref as { table: string }).table}`;
    if (op.op === 'add-table') {
      if (work.has(tkey)) fail(EEXIST, `table ${tkey} exists`);
      const h = handle();
      work.set(tkey, { handle: h, chains: new Map(), sets: new Map() });
      return h;
    }
    const t = work.get(tkey) ?? fail(ENOENT, `no table ${tkey}`);
    if (op.op === 'delete-table') {
      work.delete(tkey);
      return undefined;
    }
    const chainOf = (name: string) => t.chains.get(name) ?? fail(ENOENT, `no chain ${name}`);
    const setOf = (name: string) => t.sets.get(name) ?? fail(ENOENT, `no set ${name}`);
    const checkRefs = (exprs: readonly Expr[]): void => {
      for (const e of exprs) {
        if (e.type === 'lookup' || e.type === 'dynset') setOf(e.set);
        if (e.type === 'verdict' && e.verdict.chain !== undefined) chainOf(e.verdict.chain);
      }
    };
    switch (op.op) {
      case 'add-chain': {
        if (t.chains.has(op.chain.name)) fail(EEXIST, `chain ${op.chain.name} exists`);
        const h = handle();
        t.chains.set(op.chain.name, { chain: { ...op.chain, handle: h }, rules: [] });
        return h;
      }
      case 'delete-chain': {
        const c = chainOf(op.chain.name);
        if (c.rules.length) fail(EBUSY, `chain ${op.chain.name} has rules`);
        if (this.chainReferenced(t, op.chain.name)) fail(EBUSY, `chain ${op.chain.name} is referenced`);
        t.chains.delete(op.chain.name);
        return undefined;
      }
      case 'flush-chain':
        chainOf(op.chain.name).rules = [];
        return undefined;
      case 'add-rule': {
        const c = chainOf(op.rule.chain);
        checkRefs(op.rule.exprs);
        const h = handle();
        c.rules.push({ ...op.rule, handle: h });
        return h;
      }
      case 'replace-rule': {
        const c = chainOf(op.rule.chain);
        const i = c.rules.findIndex((r) => r.handle === op.rule.handle);
        if (op.rule.handle === undefined || i < 0) fail(ENOENT, `no rule ${String(op.rule.handle)} in ${op.rule.chain}`);
        checkRefs(op.rule.exprs);
        c.rules[i] = op.rule;
        return op.rule.handle;
      }
      case 'delete-rule': {
        const c = chainOf(op.rule.chain);
        const i = c.rules.findIndex((r) => r.handle === op.rule.handle);
        if (i < 0) fail(ENOENT, `no rule ${String(op.rule.handle)} in ${op.rule.chain}`);
        c.rules.splice(i, 1);
        return undefined;
      }
      case 'add-set': {
        if (t.sets.has(op.set.name)) fail(EEXIST, `set ${op.set.name} exists`);
        if (op.set.concat && pad4sum(op.set.concat) !== op.set.keyLen) fail(EINVAL, `set ${op.set.name}: concat does not add up to keyLen`);
        const h = handle();
        t.sets.set(op.set.name, { set: { ...op.set, handle: h }, elements: new Map() });
        return h;
      }
      case 'delete-set': {
        setOf(op.set.name);
        for (const c of t.chains.values()) {
          for (const r of c.rules) {
            if (r.exprs.some((e) => (e.type === 'lookup' || e.type === 'dynset') && e.set === op.set.name)) fail(EBUSY, `set ${op.set.name} is used by ${c.chain.name}`);
          }
        }
        t.sets.delete(op.set.name);
        return undefined;
      }
      case 'flush-set':
        setOf(op.set.name).elements.clear();
        return undefined;
      case 'add-elements': {
        const s = setOf(op.set.name);
        for (const e of op.elements) {
          if (e.key.length !== s.set.keyLen) fail(EINVAL, `set ${op.set.name}: key of ${e.key.length} bytes, want ${s.set.keyLen}`);
          if (s.set.interval && s.set.concat && (!e.keyEnd || e.keyEnd.length !== s.set.keyLen)) fail(EINVAL, `set ${op.set.name}: interval element without a key end`);
          const d = s.set.data;
          if (d && d.type !== 'verdict' && (!e.data || e.data.length !== d.len)) fail(EINVAL, `set ${op.set.name}: data of ${e.data?.length ?? 0} bytes, want ${d.len}`);
          if (d?.type === 'verdict') {
            if (!e.verdict) fail(EINVAL, `set ${op.set.name}: element without a verdict`);
            if (e.verdict.chain !== undefined) chainOf(e.verdict.chain);
          }
          const k = elKey(e);
          if (s.elements.has(k)) fail(EEXIST, `set ${op.set.name}: element ${k} exists`);
          s.elements.set(k, e);
        }
        return undefined;
      }
      case 'delete-elements': {
        const s = setOf(op.set.name);
        for (const e of op.elements) {
          const k = elKey(e);
          if (!s.elements.delete(k)) fail(ENOENT, `set ${op.set.name}: no element ${k}`);
        }
        return undefined;
      }
    }
  }

  private chainReferenced(t: FakeTable, name: string): boolean {
    for (const c of t.chains.values()) {
      for (const r of c.rules) if (r.exprs.some((e) => e.type === 'verdict' && e.verdict.chain === name)) return true;
    }
    for (const s of t.sets.values()) for (const e of s.elements.values()) if (e.verdict?.chain === name) return true;
    return false;
  }

  async dumpTable(family: NftFamily, name: string): Promise<NftTableDump | undefined> {
    const t = this.tables.get(`${family} ${name}`);
    if (!t) return undefined;
    return {
      table: { family, name, handle: t.handle },
      chains: [...t.chains.values()].map((c) => c.chain),
      rules: [...t.chains.values()].flatMap((c) => c.rules),
      sets: [...t.sets.values()].map((s) => s.set),
      elements: new Map([...t.sets].map(([n, s]) => [n, [...s.elements.values()]])),
    };
  }

  async close(): Promise<void> {}
}

function pad4sum(lens: readonly number[]): number {
  return lens.reduce((a, l) => a + pad4(l), 0);
}

// Compile-time conformance: the fake must stay assignable to the contract.
const _conforms: NftClient = new FakeNftClient();
void _conforms;
