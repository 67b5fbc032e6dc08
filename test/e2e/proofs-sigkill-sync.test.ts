// iptables and nftables modes (one scenario run for both), with packets: SIGKILL of the daemon in
// the middle of a multi-part full sync, under a long-lived connection and a client loop (a new
// connection every 50 ms), fails no connection, and the next start repairs the kernel to exactly
// the state a clean daemon programs for the same objects.
//
// The sync that is killed is a restart's first full sync after many changes (every bulk Service's
// endpoints replaced, some Services deleted, others added), large enough to be cut into several
// transactions (iptables: several restores in one iptables-restore run, see payload/pack.ts;
// nftables: batches of at most 8,000 ops). The kill lands between two of them every time:
//   - iptables: a restore gate first in the daemon's PATH (proofs/restore-gate.mjs) commits the
//     first *nat transaction and holds the rest back until the daemon is killed;
//   - nftables: the daemon logs each committed transaction (-v=4) and is killed on the first one;
//     the log and the kernel then show the sync did not finish (checked, never assumed).
// "Exact": the repaired rules, compared chain by chain (rule order kept, except in dispatch
// chains whose order means nothing), equal those of a daemon started after --cleanup.

import { readFileSync } from 'node:fs';
import type { V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISPATCH_CHAINS } from '../../modes/iptables/render/types.js';
import { DEFAULT_DAEMON_ENTRY, createCluster, nsExec, openLongLived, requireRoot, startDaemon, tally, type Cluster, type Daemon, type LongLived } from './harness/index.js';
import { iptablesSave, logRecords, service, slice, startApi, startProxy, type Proxy, type TestEnv } from './iptables-helpers.js';
import { E2E_MODES, modeOps, nftBlocks, nftList, type E2EMode } from './mode-helpers.js';
import { restoreGate, type RestoreGate } from './proofs/gate.js';
import { clientLoop } from './proofs/paced.js';

const KEEP_IP = '198.19.9.10';
/**
 * Bulk Services programmed before the kill, and Services added while the daemon is down (40 of the
 * first are deleted then too). Sized so the killed sync has several parts: iptables-nft restores
 * are cut past 500 chains (~3 per Service here); nftables batches past 8,000 ops, and a changed
 * endpoint list is ~2 ops where a new Service is ~6, hence the many added Services there.
 */
const BULK: Record<E2EMode, { readonly initial: number; readonly added: number }> = {
  iptables: { initial: 250, added: 40 },
  nftables: { initial: 100, added: 1800 },
};
const DELETED = 40;

const bulkIP = (i: number): string => `198.19.${20 + Math.floor(i / 250)}.${(i % 250) + 1}`;

/** The pid of the daemon itself: the started process, or its node child when started through a wrapper. */
function daemonPid(d: Daemon): number {
  let pid = d.pid;
  for (let depth = 0; depth < 3; depth++) {
    let kids: number[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      break;
    }
    const node = kids.find((k) => {
      try {
        return readFileSync(`/proc/${k}/cmdline`, 'utf8').includes(DEFAULT_DAEMON_ENTRY);
      } catch {
        return false;
      }
    });
    if (node === undefined) break;
    pid = node;
  }
  return pid;
}

const DISPATCH = new Set<string>(DISPATCH_CHAINS);

/** Our iptables rules, both families, per table and chain: order kept except in dispatch chains. */
async function iptablesState(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    for (const table of ['mangle', 'filter', 'nat'] as const) {
      const chains = new Map<string, string[]>();
      for (const l of (await iptablesSave(ns, family, table)).split('\n')) {
        const decl = /^:(KUBE-\S+) /.exec(l);
        if (decl) chains.set(decl[1]!, chains.get(decl[1]!) ?? []);
        const rule = /^-A (\S+) (.*)$/.exec(l);
        if (!rule) continue;
        const [, chain = '', rest = ''] = rule;
        if (!chain.startsWith('KUBE-') && !/-j KUBE-/.test(rest)) continue; // foreign rules of built-in chains
        chains.set(chain, [...(chains.get(chain) ?? []), rest]);
      }
      for (const [chain, rules] of [...chains].sort(([a], [b]) => a.localeCompare(b))) {
        let body = rules;
        if (DISPATCH.has(`${table}/${chain}`)) {
          // Order carries no meaning, apart from nat KUBE-SERVICES' KUBE-NODEPORTS tail.
          const tail = table === 'nat' && chain === 'KUBE-SERVICES' && rules.at(-1)?.includes('-j KUBE-NODEPORTS') ? rules.slice(-1) : [];
          body = [...rules.slice(0, rules.length - tail.length)].sort().concat(tail);
        }
        out.push(`${family} ${table} ${chain} (${body.length})`, ...body.map((r) => `  ${r}`));
      }
    }
  }
  return out;
}

/** Our nftables tables, both families: blocks by name, rules in order, set elements sorted, counters zeroed. */
async function nftablesState(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    const text = (await nftList(ns, family)).replace(/counter packets \d+ bytes \d+/g, 'counter');
    for (const [header, body] of [...nftBlocks(text)].sort(([a], [b]) => a.localeCompare(b))) {
      const normal = body.replace(/elements = \{([^}]*)\}/g, (_m, els: string) => `elements = { ${els.split(',').map((e) => e.trim()).filter(Boolean).sort().join(', ')} }`);
      out.push(`${family} ${header}`, ...normal.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => `  ${l}`));
    }
  }
  return out;
}

function diff(a: readonly string[], b: readonly string[]): string {
  const sa = new Set(a);
  const sb = new Set(b);
  const onlyA = a.filter((l) => !sb.has(l)).slice(0, 15);
  const onlyB = b.filter((l) => !sa.has(l)).slice(0, 15);
  return `only in the first (${a.length} lines):\n${onlyA.join('\n')}\nonly in the second (${b.length} lines):\n${onlyB.join('\n')}`;
}

describe.skipIf(!requireRoot()).each(E2E_MODES)('%s mode: SIGKILL in the middle of a multi-part full sync (packets)', (mode) => {
  const m = modeOps(mode);
  // A daemon holding ~1,900 Services may be mid-sync when SIGTERM comes, and finishes that sync
  // before exiting (nftables mode's syncs take seconds on a loaded host): a longer grace than the
  // harness's 5 s, so a clean exit is not misread as a hang. The time each stop took is printed.
  const flavour = { ...m.flavour, stopGraceMs: 30_000 };
  const stopTimes: Record<string, number> = {};
  const timedStop = async (what: string, p: Proxy, keepBridge: boolean): Promise<number> => {
    const t0 = Date.now();
    const code = await p.stop(keepBridge);
    stopTimes[what] = Date.now() - t0;
    return code;
  };
  const state = mode === 'iptables' ? iptablesState : nftablesState;
  let c: Cluster;
  let env: TestEnv;
  let gate: RestoreGate | undefined;
  let conn: LongLived | undefined;
  const running: Proxy[] = [];
  const exits: Record<string, number> = {};

  const bulkService = (i: number): V1Service => service({ name: `bulk-${i}`, clusterIP: bulkIP(i) });
  const bulkSlice = (i: number, pods: readonly string[]) => slice(`bulk-${i}`, pods.map((p) => ({ ip: c.pod(p).ipv4, nodeName: c.pod(p).nodeName })));

  beforeAll(async () => {
    c = await createCluster();
    env = await startApi(c);
    env.api.create(service({ name: 'keep', clusterIP: KEEP_IP }));
    env.api.create(slice('keep', ['a1', 'a2', 'b1', 'b2'].map((p) => ({ ip: c.pod(p).ipv4, nodeName: c.pod(p).nodeName }))));
    for (let i = 0; i < BULK[mode].initial; i++) {
      env.api.create(bulkService(i));
      env.api.create(bulkSlice(i, ['a1', 'b1']));
    }
  });

  afterAll(async () => {
    await conn?.close();
    for (const p of running) await p.stop().catch(() => -1);
    await env?.close();
    await c?.destroy();
    gate?.remove();
  });

  it('no failed connection through the kill and the restart; the restart repairs to exactly a clean daemon\'s state', async () => {
    const ns = c.nodes.a.ns;
    const n = BULK[mode].initial;
    const last = n + BULK[mode].added - 1;
    const keepTargets = ['a1', 'a2', 'b1', 'b2'].map((p) => `${c.pod(p).ipv4}:8080`);

    // 1. A daemon programs everything; connections through the keep Service start.
    const d0 = await startProxy(env, c.nodes.a, {}, flavour);
    running.push(d0);
    await m.waitForTargets(ns, 'default/keep:http', keepTargets);
    await m.waitForTargets(ns, `default/bulk-${n - 1}:http`, ['a1', 'b1'].map((p) => `${c.pod(p).ipv4}:8080`), { timeoutMs: 60_000 });
    conn = openLongLived(c.client.ns, KEEP_IP, 80);
    const greeting = await conn.connected;
    expect(greeting.name, JSON.stringify(greeting)).toBeDefined();
    const loop = clientLoop(c.client.ns, KEEP_IP, 80, 50, 3000);

    // 2. It stops; while it is down every bulk Service's endpoints change, some go, some come.
    exits['first daemon (SIGTERM)'] = await timedStop('first', d0, true);
    running.pop();
    for (let i = 0; i < n; i++) env.api.upsert(bulkSlice(i, ['a2', 'b2']));
    for (let i = 0; i < DELETED; i++) {
      env.api.delete(bulkService(i));
      env.api.delete(bulkSlice(i, []));
    }
    for (let i = n; i <= last; i++) {
      env.api.create(bulkService(i));
      env.api.create(bulkSlice(i, ['a1', 'b2']));
    }
    const before = await state(ns);

    // 3. The next daemon's first (full) sync is cut into parts; it is SIGKILLed between two.
    const args = m.flavour.args(c.nodes.a, d0.kubeconfig, mode === 'nftables' ? ['-v=4'] : []);
    gate = mode === 'iptables' ? restoreGate() : undefined;
    const d1 = startDaemon(ns, args, gate ? { env: gate.env } : {});
    let killedAfter: string;
    if (gate) {
      await d1.waitForLog(/full sync split into several restores/, 90_000);
      const held = await gate.held(90_000);
      expect(held.realExit, 'the real iptables-restore applied what it was given').toBe(0);
      killedAfter = `${held.committed} committed transactions (held back: ${held.heldTable})`;
      process.kill(daemonPid(d1), 'SIGKILL');
    } else {
      const pid = await (async () => {
        await d1.waitForLog(/"msg":"nftables sync split into several transactions"/, 90_000);
        return daemonPid(d1);
      })();
      const line = await d1.waitForLog(/"msg":"nftables transaction committed"/, 90_000);
      process.kill(pid, 'SIGKILL');
      killedAfter = line;
    }
    exits['killed daemon (SIGKILL)'] = await d1.exited;
    expect(exits['killed daemon (SIGKILL)']).toBe(137);
    const committedLines = logRecords(d1).filter((r) => r.msg === 'nftables transaction committed');
    // It really died mid-sync: it never finished the sync it was in.
    expect(logRecords(d1).some((r) => r.msg === 'synced proxy rules'), 'the killed daemon had finished its sync').toBe(false);
    if (mode === 'nftables') {
      const last = committedLines.at(-1) as { transaction?: number; of?: number } | undefined;
      expect(last && last.transaction! < last.of!, `killed after ${JSON.stringify(last)}`).toBe(true);
    }
    const afterKill = await state(ns);

    // 4. A third daemon (no gate) repairs on its first full sync.
    const d2 = await startProxy(env, c.nodes.a, { bridge: d0.bridge }, flavour);
    running.push(d2);
    await m.waitForTargets(ns, `default/bulk-${last}:http`, ['a1', 'b2'].map((p) => `${c.pod(p).ipv4}:8080`), { timeoutMs: 60_000 });
    const repaired = await state(ns);
    const reply = await conn.request('still there?', 3000);
    const hits = await loop.stop();
    const failed = hits.filter((h) => h.name === undefined);
    process.stdout.write(
      `${mode} SIGKILL mid-sync: killed after ${killedAfter}; ${hits.length} connections, ${failed.length} failed; ` +
        `kernel lines before/after kill/repaired: ${before.length}/${afterKill.length}/${repaired.length}; ${JSON.stringify(tally(hits))}\n`,
    );
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    expect(hits.length).toBeGreaterThan(20);
    expect(reply).toBe('still there?');
    expect(conn.isClosed()).toBe(false);
    // The kill left the kernel between the old and the new state: neither, and the repair changed it.
    expect(afterKill.join('\n'), 'the first part changed nothing').not.toBe(before.join('\n'));
    expect(afterKill.join('\n'), 'the killed sync had nothing left to do').not.toBe(repaired.join('\n'));

    // 5. Exact: the same objects programmed from scratch by a clean daemon give the same rules.
    exits['repairing daemon (SIGTERM)'] = await timedStop('repairing', d2, true);
    running.pop();
    const cleanup = await nsExec(ns, [process.execPath, DEFAULT_DAEMON_ENTRY, '--cleanup', '--logging-format=json']);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    const d3 = await startProxy(env, c.nodes.a, { bridge: d0.bridge }, flavour);
    running.push(d3);
    await m.waitForTargets(ns, `default/bulk-${last}:http`, ['a1', 'b2'].map((p) => `${c.pod(p).ipv4}:8080`), { timeoutMs: 60_000 });
    const clean = await state(ns);
    expect(repaired.join('\n') === clean.join('\n'), `repaired vs clean:\n${diff(repaired, clean)}`).toBe(true);
    exits['clean daemon (SIGTERM)'] = await timedStop('clean', d3, false);
    process.stdout.write(`${mode} SIGTERM to exit (ms): ${JSON.stringify(stopTimes)}\n`);
    running.pop();
    expect(exits).toEqual({
      'first daemon (SIGTERM)': 0,
      'killed daemon (SIGKILL)': 137,
      'repairing daemon (SIGTERM)': 0,
      'clean daemon (SIGTERM)': 0,
    });
  });
});
