// The real iptables and conntrack adapters, run against the kernel inside a throwaway network
// namespace. The adapters get an Exec that prefixes `ip netns exec <ns>`, which is also what
// proves the exec is injectable. The fake-exec cases at the bottom need no root.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, type Exec, type ExecResult } from '../../modes/shared/exec.js';
import { createConntrack } from '../../modes/shared/conntrack-exec.js';
import { createIptablesRunner } from '../../modes/iptables/exec/runner.js';
import { detectBackend } from '../../modes/iptables/exec/backend.js';
import { failedLine, linesAround } from '../../modes/iptables/exec/restore-error.js';
import { RestoreError, type IptablesRunner } from '../../modes/iptables/runner.js';
import { memoryLogger, silentLogger } from '../../proxy/log.js';
import { isRoot } from '../e2e/harness/root.js';
import { deleteNamespaceSync } from '../e2e/harness/ns.js';

// Deliberately not "kpt...-": sweepStale() of the e2e harness must never take it for a leftover.
const NS = `itx${process.pid.toString(36)}`;
const inNs: Exec = (argv, opts) => exec(['ip', 'netns', 'exec', NS, ...argv], opts);

/** Rule and chain lines only: comments carry timestamps. */
const rulesOf = (save: string): string[] => save.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

const GOOD = [
  '*nat',
  ':KUBE-SERVICES - [0:0]',
  ':KUBE-SVC-TEST - [0:0]',
  '-A KUBE-SERVICES -d 198.19.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-TEST',
  '-A KUBE-SVC-TEST -p tcp -j DNAT --to-destination 198.18.1.11:8080',
  'COMMIT',
  '',
].join('\n');

// Line 4 jumps to a chain that does not exist.
const BROKEN = [
  '*nat',
  ':KUBE-SERVICES - [0:0]',
  '-A KUBE-SERVICES -d 198.19.0.11/32 -j ACCEPT',
  '-A KUBE-SERVICES -d 198.19.0.12/32 -j KUBE-NOPE',
  'COMMIT',
  '',
].join('\n');

describe.skipIf(!isRoot())('iptables and conntrack adapters in a namespace', () => {
  let runner: IptablesRunner;

  beforeAll(async () => {
    deleteNamespaceSync(NS);
    const r = await exec(['ip', 'netns', 'add', NS]);
    expect(r.code).toBe(0);
    runner = await createIptablesRunner({ exec: inNs, logger: silentLogger });
  });
  afterAll(() => deleteNamespaceSync(NS));

  it('detects the nft backend', async () => {
    expect(runner.backend).toBe('nft');
    expect(await detectBackend(silentLogger, inNs)).toBe('nft');
  });

  it('restores a payload with KUBE- chains and save shows it (IPv4 and IPv6)', async () => {
    await runner.restore('IPv4', GOOD);
    const nat = await runner.save('IPv4', 'nat');
    expect(nat).toContain(':KUBE-SVC-TEST - [0:0]');
    expect(nat).toContain('-A KUBE-SVC-TEST -p tcp -j DNAT --to-destination 198.18.1.11:8080');
    // --noflush: restoring again is idempotent for chain declarations and keeps other chains.
    await runner.restore('IPv4', '*filter\n:KUBE-FIREWALL - [0:0]\nCOMMIT\n');
    expect(await runner.save('IPv4')).toContain(':KUBE-SVC-TEST - [0:0]');

    await runner.restore('IPv6', '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 2001:db8:ff::10/128 -j ACCEPT\nCOMMIT\n');
    expect(await runner.save('IPv6', 'nat')).toContain('-A KUBE-SERVICES -d 2001:db8:ff::10/128 -j ACCEPT');
    expect(await runner.save('IPv4', 'nat')).not.toContain('2001:db8');
  });

  it('lists one chain: a user chain with its rules, a built-in chain with its policy, undefined for none (both families, both backends)', async () => {
    await runner.restore('IPv4', GOOD);
    await runner.restore('IPv4', '*nat\n-A OUTPUT -m comment --comment "to the test chain" -j KUBE-SVC-TEST\nCOMMIT\n');
    expect(await runner.listChain('IPv4', 'nat', 'KUBE-SVC-TEST')).toEqual({
      name: 'KUBE-SVC-TEST',
      policy: '-',
      rules: ['-p tcp -j DNAT --to-destination 198.18.1.11:8080'],
    });
    expect(await runner.listChain('IPv4', 'nat', 'OUTPUT')).toEqual({ name: 'OUTPUT', policy: 'ACCEPT', rules: ['-m comment --comment "to the test chain" -j KUBE-SVC-TEST'] });
    expect(await runner.listChain('IPv4', 'nat', 'KUBE-NO-SUCH-CHAIN')).toBeUndefined();
    expect(await runner.listChain('IPv6', 'nat', 'KUBE-SVC-TEST')).toBeUndefined();
    const legacy = await createIptablesRunner({ exec: inNs, logger: silentLogger, backend: 'legacy' });
    expect(await legacy.listChain('IPv4', 'nat', 'KUBE-SVC-TEST')).toBeUndefined();
    await runner.restore('IPv4', '*nat\n-D OUTPUT -m comment --comment "to the test chain" -j KUBE-SVC-TEST\nCOMMIT\n');
    // Any other failure is not taken for a missing chain.
    await expect(runner.listChain('IPv4', 'nat', '-bad name')).rejects.toThrow(/exited/);
  });

  it('a broken payload throws RestoreError with the line, logs context and changes nothing', async () => {
    const { logger, lines } = memoryLogger();
    const logged = await createIptablesRunner({ exec: inNs, logger, backend: 'nft' });
    const before = rulesOf(await runner.save('IPv4', 'nat'));
    const err = await logged.restore('IPv4', BROKEN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreError);
    const line = (err as RestoreError).line;
    // nft reports the failing rule at COMMIT time (line 5); legacy at the rule (line 4).
    expect([4, 5]).toContain(line);
    expect((err as RestoreError).message).toMatch(/KUBE-NOPE/);
    // The failing lines travel on the error (the sync runner's one failure line shows them); the
    // runner itself logs nothing, so a failed sync is not reported twice.
    expect((err as RestoreError).context).toEqual(linesAround(BROKEN, line ?? 0));
    expect(lines.filter((l) => JSON.parse(l).level === 'error')).toEqual([]);
    expect(rulesOf(await runner.save('IPv4', 'nat'))).toEqual(before);
  });

  it('restoreEach: one run, one transaction per payload; a failing one keeps the earlier ones', async () => {
    const first = '*nat\n:KUBE-EACH-ONE - [0:0]\n-A KUBE-EACH-ONE -j RETURN\nCOMMIT\n';
    const second = '*nat\n:KUBE-EACH-TWO - [0:0]\n-A KUBE-EACH-TWO -j KUBE-EACH-ONE\nCOMMIT\n';
    let built = 0;
    function* lazy(): Generator<string> {
      for (const p of [first, second, BROKEN]) {
        built++;
        yield p;
      }
    }
    const { logger, lines } = memoryLogger();
    const logged = await createIptablesRunner({ exec: inNs, logger, backend: 'nft' });
    const err = await logged.restoreEach('IPv4', lazy()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreError);
    // BROKEN's bad line, counted from the start of the whole input (4 + 4 lines before it).
    const line = (err as RestoreError).line ?? 0;
    expect([8 + 4, 8 + 5]).toContain(line);
    expect((err as RestoreError).context).toEqual(linesAround(first + second + BROKEN, line));
    expect(lines.filter((l) => JSON.parse(l).level === 'error')).toEqual([]);
    expect(built).toBe(3);
    const nat = await runner.save('IPv4', 'nat');
    expect(nat).toContain('-A KUBE-EACH-TWO -j KUBE-EACH-ONE');
    expect(nat).not.toContain('198.19.0.11');
  });

  it('conntrack deletes a synthetic UDP entry and treats "0 entries" as success', async () => {
    const ct = createConntrack({ exec: inNs, logger: silentLogger });
    const insert = (extra: string[]): Promise<ExecResult> =>
      inNs(['conntrack', '-I', '-p', 'udp', '--sport', '1234', '--dport', '53', '--timeout', '60', ...extra]);
    const list = async (): Promise<string> => (await inNs(['conntrack', '-L'])).stdout;

    expect((await insert(['-s', '198.18.1.100', '-d', '198.19.0.10'])).code).toBe(0);
    expect(await list()).toContain('dst=198.19.0.10');
    await ct.clearEntriesForIP('198.19.0.10', 'UDP');
    expect(await list()).not.toContain('dst=198.19.0.10');
    await ct.clearEntriesForIP('198.19.0.10', 'UDP'); // nothing left: still fine

    expect((await insert(['-s', '198.18.1.100', '-d', '198.19.0.20', '--dst-nat', '198.18.2.11:5353'])).code).toBe(0);
    await ct.clearEntriesForNAT('198.19.0.20', '198.18.2.99', 'UDP'); // other endpoint: kept
    expect(await list()).toContain('dst=198.19.0.20');
    await ct.clearEntriesForNAT('198.19.0.20', '198.18.2.11', 'UDP');
    expect(await list()).not.toContain('dst=198.19.0.20');

    expect((await insert(['-s', '2001:db8:1::100', '-d', '2001:db8:ff::10'])).code).toBe(0);
    await ct.clearEntriesForPort(53, true, 'UDP');
    expect((await inNs(['conntrack', '-L', '-f', 'ipv6'])).stdout).not.toContain('2001:db8:ff::10');
    await ct.clearEntriesForPortNAT('198.18.2.11', 30053, 'SCTP');
  });
});

describe('iptables and conntrack adapters with a fake exec', () => {
  const fake = (answer: (argv: readonly string[]) => Partial<ExecResult>) => {
    const calls: string[][] = [];
    const run: Exec = async (argv) => {
      calls.push([...argv]);
      return { code: 0, stdout: '', stderr: '', ...answer(argv) };
    };
    return { run, calls };
  };

  it('prefers legacy only when it holds more rules, and probes once per exec', async () => {
    const legacyHeavy = fake((argv) => ({
      stdout: argv[0]?.includes('legacy') && argv.length === 1 ? '*filter\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\n' : '',
    }));
    expect(await detectBackend(silentLogger, legacyHeavy.run)).toBe('legacy');
    const probes = legacyHeavy.calls.length;
    expect(await detectBackend(silentLogger, legacyHeavy.run)).toBe('legacy');
    expect(legacyHeavy.calls.length).toBe(probes);

    const tie = fake(() => ({ stdout: '-A INPUT -j ACCEPT\n' }));
    expect(await detectBackend(silentLogger, tie.run)).toBe('nft');

    // The kubelet's marker chain in nft wins even when legacy has more rules.
    const marked = fake((argv) => ({
      stdout: argv[0] === 'iptables-nft-save' && argv.includes('mangle') ? ':KUBE-IPTABLES-HINT - [0:0]\n' : '-A X -j Y\n-A X -j Z\n',
    }));
    expect(await detectBackend(silentLogger, marked.run)).toBe('nft');
    expect(marked.calls.some((c) => c[0]?.includes('legacy'))).toBe(false);
  });

  it('runs restore with --noflush, the lock wait, and the payload on stdin', async () => {
    let seen: { argv: readonly string[]; input?: string } | undefined;
    const run: Exec = async (argv, opts) => {
      seen = { argv, input: opts?.input };
      return { code: 0, stdout: '', stderr: '' };
    };
    const legacy = await createIptablesRunner({ backend: 'legacy', exec: run, logger: silentLogger });
    await legacy.restore('IPv6', GOOD);
    expect(seen).toEqual({ argv: ['ip6tables-legacy-restore', '--noflush', '-w', '5', '-W', '100000'], input: GOOD });
    const nft = await createIptablesRunner({ backend: 'nft', exec: run, logger: silentLogger });
    await nft.save('IPv4', 'mangle');
    expect(seen?.argv).toEqual(['iptables-nft-save', '-t', 'mangle']);
  });

  it('parses both forms of the failing line', () => {
    expect(failedLine('iptables-restore v1.8.9 (nf_tables): x\nError occurred at line: 12\n')).toBe(12);
    expect(failedLine('iptables-restore: line 7 failed\n')).toBe(7);
    expect(failedLine('something else')).toBeUndefined();
    expect(linesAround('a\nb\nc\nd', 1)).toEqual(['1: a', '2: b']);
  });

  it('conntrack: "0 entries" is success, other failures throw, argv is a vector', async () => {
    const nothing = fake(() => ({ code: 1, stderr: 'conntrack v1.4.7: 0 flow entries have been deleted.\n' }));
    const ct = createConntrack({ exec: nothing.run, logger: silentLogger });
    await ct.clearEntriesForIP('2001:db8:ff::1', 'UDP');
    await ct.clearEntriesForPortNAT('198.18.1.11', 30080, 'SCTP');
    expect(nothing.calls).toEqual([
      ['conntrack', '-D', '-f', 'ipv6', '-p', 'udp', '--orig-dst', '2001:db8:ff::1'],
      ['conntrack', '-D', '-p', 'sctp', '--dport', '30080', '--dst-nat', '198.18.1.11'],
    ]);
    const broken = fake(() => ({ code: 1, stderr: 'conntrack: Operation failed: invalid parameters\n' }));
    await expect(createConntrack({ exec: broken.run, logger: silentLogger }).clearEntriesForPort(53, false, 'UDP')).rejects.toThrow(
      /invalid parameters/,
    );
  });
});
