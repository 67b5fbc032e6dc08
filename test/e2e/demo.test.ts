// The demo as a newcomer runs it: `bash scripts/demo.sh` as root builds its namespace cluster, runs
// the real daemon in both nodes and sends requests. Its machine-readable output (--json) must show
// the client's requests through the ClusterIP and the NodePort answered by exactly the pods behind
// them (and the others: eTP Local, ClientIP affinity, UDP), traffic following the scaled endpoint,
// and after it stops — by KPT_DEMO_SECONDS or by Ctrl-C — no namespace, no process and no change
// in the root namespace.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, listNamespaces, requireRoot, rootSnapshot } from './harness/index.js';
import type { RootSnapshot } from './harness/snapshot.js';

interface ServiceSecond {
  readonly service: string;
  readonly endpoints: readonly string[];
  readonly answered: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
}

interface DemoLine {
  readonly event: 'cluster' | 'explain' | 'trace' | 'second' | 'scaled' | 'stopped' | 'not JSON';
  readonly prefix?: string;
  readonly namespaces?: readonly string[];
  readonly second?: number;
  readonly text?: string;
  readonly services?: readonly ServiceSecond[];
  readonly endpoints?: readonly string[];
}

interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: DemoLine[];
  readonly stderr: string;
}

/** Every pid whose environment carries `marker` (the demo's and its descendants', wherever they run). */
function processesWithMarker(marker: string): number[] {
  const needle = `KPT_DEMO_TEST_MARK=${marker}`;
  const found: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(join('/proc', d, 'environ'), 'latin1').split('\0').includes(needle)) found.push(Number(d));
    } catch {
      // Exited meanwhile, or a kernel thread.
    }
  }
  return found;
}

function killMarked(marker: string): void {
  for (const pid of processesWithMarker(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
}

/** Runs the demo; `interruptAfterSeconds` sends SIGINT (Ctrl-C) after that many live seconds. */
function runDemo(marker: string, env: Record<string, string>, interruptAfterSeconds?: number): Promise<DemoRun> {
  const child = spawn('bash', ['scripts/demo.sh', '--json'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KPT_DEMO_SKIP_SETUP: '1', KPT_DEMO_TEST_MARK: marker, ...env },
  });
  const lines: DemoLine[] = [];
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  createInterface({ input: child.stdout }).on('line', (l) => {
    let v: DemoLine;
    try {
      v = JSON.parse(l) as DemoLine;
    } catch {
      v = { event: 'not JSON', text: l };
    }
    lines.push(v);
    if (interruptAfterSeconds !== undefined && v.event === 'second' && v.second === interruptAfterSeconds) child.kill('SIGINT');
  });
  // Set-up takes ~10-30 s on a loaded 2-core machine; a demo that never gets going is killed.
  // Everything carrying the marker goes, so no orphan keeps the output pipes (and 'close') open.
  const killer = setTimeout(() => killMarked(marker), interruptAfterSeconds === undefined ? 150_000 : 90_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, lines, stderr });
    }),
  );
}

const seconds = (r: DemoRun): DemoLine[] => r.lines.filter((l) => l.event === 'second');

function rowsOf(r: DemoRun, service: string): ServiceSecond[] {
  return seconds(r).map((s) => {
    const row = s.services?.find((x) => x.service === service);
    if (!row) throw new Error(`second ${s.second} has no row for ${service}`);
    return row;
  });
}

/** Answers per pod over the whole run. */
function answeredBy(rows: readonly ServiceSecond[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) for (const [pod, n] of Object.entries(r.answered)) out[pod] = (out[pod] ?? 0) + n;
  return out;
}

const sum = (t: Readonly<Record<string, number>>): number => Object.values(t).reduce((a, b) => a + b, 0);

async function expectNothingLeft(r: DemoRun, marker: string, before: RootSnapshot): Promise<void> {
  const prefix = r.lines.find((l) => l.event === 'cluster')?.prefix;
  expect(prefix, r.stderr).toMatch(/^kptdemo[0-9a-f]{4}-$/);
  expect(r.lines.at(-1)?.event).toBe('stopped');
  expect((await listNamespaces()).filter((n) => n.startsWith(prefix ?? '?'))).toEqual([]);
  expect(processesWithMarker(marker)).toEqual([]);
  const after = await rootSnapshot();
  expect(after.addr).toBe(before.addr);
  expect(after.route).toBe(before.route);
  expect(after.route6).toBe(before.route6);
  expect(after.iptables).toBe(before.iptables);
}

describe.skipIf(!requireRoot())('bash scripts/demo.sh (as root)', () => {
  const marker = randomBytes(6).toString('hex');
  let before: RootSnapshot;
  let run: DemoRun;

  beforeAll(async () => {
    before = await rootSnapshot();
    run = await runDemo(marker, { KPT_DEMO_SECONDS: '16', KPT_DEMO_SCALE_SECONDS: '5' });
  });

  // Whatever a failed run left must not outlive the test.
  afterAll(() => killMarked(marker));

  it('runs for KPT_DEMO_SECONDS and exits 0 after printing explain and trace', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(seconds(run).map((s) => s.second)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(run.lines.find((l) => l.event === 'explain')?.text).toContain('Service port default/web:http (ClusterIP, TCP)');
    expect(run.lines.find((l) => l.event === 'trace')?.text).toMatch(/verdict: DNAT/);
    expect(run.stderr).toContain('/debug/state');
  });

  it("the client's requests through the ClusterIP are answered by the Service's pods, and follow the scaled endpoint", () => {
    const rows = rowsOf(run, 'default/web');
    const by = answeredBy(rows);
    expect(Object.keys(by).sort()).toEqual(['a1', 'b1', 'b2']);
    // ~10 requests a second: a dataplane that drops most of them fails here.
    expect(sum(by)).toBeGreaterThan(60);
    // b2 answers while it is an endpoint...
    expect(rows.filter((r) => r.endpoints.includes('b2')).some((r) => (r.answered['b2'] ?? 0) > 0)).toBe(true);
    // ...and never once it has been gone for two whole seconds (allowing the daemon's sync).
    const stale = rows.filter((r, i) => i >= 2 && [rows[i - 2], rows[i - 1], r].every((x) => x && !x.endpoints.includes('b2')));
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.map((r) => r.answered['b2'] ?? 0)).toEqual(stale.map(() => 0));
    expect(run.lines.filter((l) => l.event === 'scaled').map((l) => l.endpoints)).toEqual([
      ['a1', 'b1', 'b2'],
      ['a1', 'b1'],
      ['a1', 'b1', 'b2'],
    ]);
  });

  it("the external client's requests through the NodePort are answered by the Service's pods on both nodes", () => {
    const by = answeredBy(rowsOf(run, 'default/shop'));
    expect(Object.keys(by).sort()).toEqual(['a2', 'b2']);
    expect(sum(by)).toBeGreaterThan(60);
  });

  it('externalTrafficPolicy Local, ClientIP affinity and UDP rows show what those features do', () => {
    // Requests to node B: only node B's endpoint (b1), never node A's (a1).
    expect(Object.keys(answeredBy(rowsOf(run, 'default/local')))).toEqual(['b1']);
    // One client IP: one pod answers everything.
    expect(Object.keys(answeredBy(rowsOf(run, 'default/sticky')))).toHaveLength(1);
    expect(Object.keys(answeredBy(rowsOf(run, 'kube-system/dns'))).sort()).toEqual(['b1', 'b2']);
  });

  it('leaves no namespace, no process and an unchanged root namespace behind', async () => {
    await expectNothingLeft(run, marker, before);
  });

  it('Ctrl-C (SIGINT) tears everything down too', async () => {
    const mark = randomBytes(6).toString('hex');
    const snap = await rootSnapshot();
    const interrupted = await runDemo(mark, {}, 2);
    expect(interrupted.code, interrupted.stderr).toBe(0);
    expect(seconds(interrupted).length).toBeGreaterThanOrEqual(2);
    await expectNothingLeft(interrupted, mark, snap);
  });
});

describe.skipIf(!requireRoot())('bash scripts/demo.sh without root', () => {
  it('runs the noop dry run instead, says why, and creates no namespace', async () => {
    const before = (await listNamespaces()).filter((n) => n.startsWith('kptdemo'));
    // uid/gid 65534 (nobody); port 0 so it cannot collide with anything listening in the root namespace.
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', 'bash', 'scripts/demo.sh'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 90_000,
        env: { ...process.env, KPT_DEMO_SKIP_SETUP: '1', KPT_DEMO_SECONDS: '15', KPT_DEMO_METRICS: '127.0.0.1:0', KPT_DEMO_HEALTHZ: '127.0.0.1:0' },
      },
    );
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(r.stderr).toContain('demo: not root, so no network namespaces: running the dry-run demo instead');
    expect(out).toMatch(/would program service port.*default\/web:http/);
    expect((await listNamespaces()).filter((n) => n.startsWith('kptdemo'))).toEqual(before);
  });
});
