// One `*table ... COMMIT` block of an iptables-restore --noflush payload, built in sections whose
// order is what makes the payload valid:
//   1. `:CHAIN - [0:0]` declarations (create, or flush an existing user chain under --noflush),
//   2. `-D` deletions of dispatch rules (must precede `-X` of the chains they jump to),
//   3. `-A` rules of the declared chains,
//   4. `-I` insertions (jump rules into built-in chains, dispatch additions),
//   5. `-X` deletions of chains nothing references any more.

import type { Rule } from '../render/types.js';

export class TablePayload {
  private readonly declared = new Set<string>();
  private readonly deletes: string[] = [];
  private readonly appends: string[] = [];
  private readonly inserts: string[] = [];
  private readonly removals: string[] = [];
  /** Rules written (-A and -I), for kubeproxy_sync_proxy_rules_iptables_last. */
  rulesWritten = 0;

  constructor(readonly table: string) {}

  declare(chain: string): void {
    this.declared.add(chain);
  }

  append(chain: string, rule: Rule): void {
    this.appends.push(`-A ${chain} ${rule}`);
    this.rulesWritten++;
  }

  appendAll(chain: string, rules: readonly Rule[]): void {
    for (const r of rules) this.append(chain, r);
  }

  /** Insert at position 1: dispatch chains have a tail rule (nat KUBE-SERVICES) that must stay last. */
  insertFirst(chain: string, rule: Rule): void {
    this.inserts.push(`-I ${chain} 1 ${rule}`);
    this.rulesWritten++;
  }

  deleteRule(chain: string, rule: Rule): void {
    this.deletes.push(`-D ${chain} ${rule}`);
  }

  /** Flush (via declaration) then delete a chain. */
  deleteChain(chain: string): void {
    this.declared.add(chain);
    this.removals.push(`-X ${chain}`);
  }

  /** Delete a chain an earlier transaction already flushed. */
  removeFlushedChain(chain: string): void {
    this.removals.push(`-X ${chain}`);
  }

  isEmpty(): boolean {
    return this.declared.size + this.deletes.length + this.appends.length + this.inserts.length + this.removals.length === 0;
  }

  render(): string {
    const lines = [`*${this.table}`];
    for (const c of this.declared) lines.push(`:${c} - [0:0]`);
    // No spread into push(): a full sync at ~5k+ services has >100k appends, which would exceed
    // V8's argument limit ("Maximum call stack size exceeded").
    for (const section of [this.deletes, this.appends, this.inserts, this.removals]) for (const l of section) lines.push(l);
    lines.push('COMMIT');
    return lines.join('\n') + '\n';
  }
}

/** Concatenate the non-empty blocks into one payload ('' when there is nothing to do). */
export function renderPayload(tables: readonly TablePayload[]): string {
  return tables.filter((t) => !t.isEmpty()).map((t) => t.render()).join('');
}
