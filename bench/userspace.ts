// Benchmark (not a test) of the userspace proxy on loopback: throughput and request latency of a
// direct connection vs this proxy (and HAProxy in TCP mode when installed), at 1 and 64
// concurrent connections, plus the proxy's memory per 1,000 idle proxied connections.
//
//   npm run build && node dist/bench/userspace.js        (BENCH_SECONDS=2, BENCH_ROUNDS=3 by default)
//
// bench/main.ts calls runUserspaceBench(). The report compares against the targets: throughput
// >= 90% of HAProxy's at 1 and 64 connections, added p99 latency (over a direct connection)
// <= 1.5x HAProxy's, and <= 10 MB of RSS per 1,000 idle proxied connections (marginal cost of a second
// batch after GC; the first batch on a fresh process is reported too, see idleCost).
//
// The proxy runs in a child process so its CPU and memory are measured apart from the load
// generator and the backends, which live in this process. Prints a Markdown table and writes JSON
// to bench/results/userspace-<timestamp>.json.

import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

let SECONDS = Number(process.env['BENCH_SECONDS'] ?? 2);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const CONCURRENCY = [1, 64] as const;
let IDLE_CONNECTIONS = 1000;
const REQUEST_BYTES = 64;

interface Row {
  readonly target: string;
  readonly throughputMBps: Record<string, number>;
  readonly p50us: Record<string, number>;
  readonly p99us: Record<string, number>;
  readonly rps: Record<string, number>;
  readonly idle?: {
    /** Marginal RSS of a second batch of idle connections (what the target is checked on). */
    rssKiBPer1000: number;
    /** RSS of the first batch on a fresh process, one-off growth included. */
    rssFirstKiBPer1000: number;
    /** V8 heap in use (heapUsed) and committed (heapTotal), marginal, proxy child only. */
    heapKiBPer1000?: number;
    heapTotalKiBPer1000?: number;
  };
}

interface Mem {
  readonly rss: number;
  readonly heap?: number;
  readonly heapTotal?: number;
}

// ---- proxy child -------------------------------------------------------------------------------

async function runProxyChild(): Promise<void> {
  const { createUserspaceDataplane } = await import('../modes/userspace/dataplane.js');
  const { ProxyMetrics } = await import('../sync/metrics.js');
  const { silentLogger } = await import('../proxy/log.js');
  const ports = (process.env['BENCH_BACKENDS'] ?? '').split(',').map(Number);
  const dp = createUserspaceDataplane({
    config: { mode: 'userspace' } as unknown as import('../proxy/config/types.js').ProxyConfig,
    runner: { backend: 'nft', restore: async () => undefined, restoreEach: async () => undefined, save: async () => '', listChain: async () => undefined },
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    listenHost: '127.0.0.1',
  });
  const node = { name: 'bench', labels: {}, zone: '', addresses: [], podCIDRs: [], eligible: true };
  const services = new Map<string, import('../proxy/model/types.js').ServicePort>();
  const endpoints = new Map<string, import('../proxy/model/types.js').Endpoint[]>();
  ports.forEach((port, i) => {
    const key = `bench/svc${i}:p`;
    services.set(key, {
      key, namespace: 'bench', name: `svc${i}`, portName: 'p', type: 'ClusterIP', protocol: 'TCP', port: 80,
      clusterIPs: ['198.19.0.1'], nodePort: 0, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
      sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', healthCheckNodePort: 0,
    });
    endpoints.set(key, [{
      ip: '127.0.0.1', port, family: 'IPv4', ready: true, serving: true, terminating: false, nodeName: 'bench',
      zone: '', zoneHints: [], nodeHints: [], isLocal: true,
    }]);
  });
  await dp.sync({
    state: { services, endpoints, node },
    changes: { changed: new Set(services.keys()), removed: new Set(), nodeChanged: false, triggerTimes: [] },
    full: true,
  });
  const listenerPorts: number[] = [];
  for (const key of services.keys()) {
    const d = (await dp.describe?.(key)) as { listener: { port: number } };
    listenerPorts.push(d.listener.port);
  }
  process.on('message', (msg: unknown) => {
    if (msg === 'mem') {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      process.send?.({ type: 'mem', rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external, ...Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, x.space_size])) });
    } else if (msg === 'exit') {
      void dp.close?.().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', ports: listenerPorts });
}

// ---- backends and load -------------------------------------------------------------------------

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Streams CHUNK forever (with backpressure) to whoever connects. */
function sourceServer(): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    const pump = (): void => {
      while (s.write(CHUNK)) {
        /* keep writing until the socket buffer is full */
      }
    };
    s.on('drain', pump);
    pump();
  });
  return listen(server);
}

function echoServer(): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  return listen(server);
}

function listen(server: net.Server): Promise<net.Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

async function throughput(port: number, conns: number): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: conns }, () => connect(port)));
  let bytes = 0;
  for (const s of sockets) s.on('data', (c: Buffer) => (bytes += c.length));
  await sleep(200); // warm-up
  const start = bytes;
  const t0 = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const moved = bytes - start;
  for (const s of sockets) s.destroy();
  return moved / elapsed / 1e6;
}

async function latency(port: number, conns: number): Promise<{ p50: number; p99: number; rps: number }> {
  const sockets = await Promise.all(Array.from({ length: conns }, () => connect(port)));
  const samples: number[] = [];
  const payload = Buffer.alloc(REQUEST_BYTES, 0x62);
  let running = true;
  const loop = (s: net.Socket): Promise<void> =>
    new Promise((resolve) => {
      let got = 0;
      let t0 = process.hrtime.bigint();
      s.on('data', (c: Buffer) => {
        got += c.length;
        if (got < REQUEST_BYTES) return;
        got -= REQUEST_BYTES;
        samples.push(Number(process.hrtime.bigint() - t0) / 1000);
        if (!running) return resolve();
        t0 = process.hrtime.bigint();
        s.write(payload);
      });
      s.write(payload);
    });
  const done = Promise.all(sockets.map(loop));
  await sleep(SECONDS * 1000);
  running = false;
  await done;
  for (const s of sockets) s.destroy();
  samples.sort((a, b) => a - b);
  const pct = (p: number): number => Math.round(samples[Math.min(samples.length - 1, Math.floor(samples.length * p))] ?? 0);
  return { p50: pct(0.5), p99: pct(0.99), rps: Math.round(samples.length / SECONDS) };
}

/**
 * Memory per IDLE_CONNECTIONS idle proxied connections, as the marginal cost of a second batch on
 * top of a first one (both kept open). The first batch also pays one-off costs that do not scale
 * with connections (V8 growing its young generation after the allocation burst, first heap pages,
 * malloc arenas); it is reported too (rssFirstKiBPer1000), but the target is checked on the
 * marginal cost. Every reading follows a full GC in the proxy child (--expose-gc).
 */
async function idleCost(port: number, memory: () => Promise<Mem>): Promise<Row['idle']> {
  // Warm up (JIT, first slabs and pools) with a short-lived batch.
  const warm = await Promise.all(Array.from({ length: 100 }, () => connect(port)));
  await Promise.all(warm.map((s) => new Promise<void>((resolve) => (s.once('data', () => resolve()), s.write('x')))));
  for (const s of warm) s.destroy();
  await sleep(300);
  const batch = async (): Promise<net.Socket[]> => {
    const sockets: net.Socket[] = [];
    for (let i = 0; i < IDLE_CONNECTIONS; i++) sockets.push(await connect(port));
    // One echo per connection proves each one was dialed through to the backend, then they idle.
    await Promise.all(
      sockets.map((s) => new Promise<void>((resolve) => {
        s.once('data', () => resolve());
        s.write('x');
      })),
    );
    await sleep(200);
    return sockets;
  };
  const m0 = await memory();
  const first = await batch();
  const m1 = await memory();
  const second = await batch();
  const m2 = await memory();
  for (const s of [...first, ...second]) s.destroy();
  const per1000 = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined ? undefined : Math.round(((b - a) / 1024) * (1000 / IDLE_CONNECTIONS));
  const heap = per1000(m1.heap, m2.heap);
  const heapTotal = per1000(m1.heapTotal, m2.heapTotal);
  return {
    rssKiBPer1000: per1000(m1.rss, m2.rss)!,
    rssFirstKiBPer1000: per1000(m0.rss, m1.rss)!,
    ...(heap !== undefined ? { heapKiBPer1000: heap } : {}),
    ...(heapTotal !== undefined ? { heapTotalKiBPer1000: heapTotal } : {}),
  };
}

interface BenchTarget {
  readonly name: string;
  readonly ports: { source: number; echo: number };
  readonly memory?: () => Promise<Mem>;
}

const medianOf = (xs: readonly number[]): number => {
  const v = [...xs].sort((x, y) => x - y);
  return v[Math.floor((v.length - 1) / 2)] ?? 0;
};

/**
 * Every target is measured ROUNDS times, interleaved (direct, proxy, haproxy, direct, ...), and the
 * median is reported: on a small shared machine the background load drifts, and interleaving
 * spreads that drift over all targets instead of penalising whichever ran during a busy spell.
 */
async function measureAll(targets: readonly BenchTarget[], rounds: number): Promise<Row[]> {
  const samples = targets.map(() => ({ tp: {} as Record<number, number[]>, p50: {} as Record<number, number[]>, p99: {} as Record<number, number[]>, rps: {} as Record<number, number[]> }));
  const push = (m: Record<number, number[]>, c: number, v: number): void => void (m[c] ??= []).push(v);
  // Idle memory first, on fresh processes: after the load phases a shrinking heap hides the cost.
  // 2 x IDLE_CONNECTIONS stay open at the peak (HAProxy's maxconn and the descriptor limit allow it).
  const idle = new Map<string, Row['idle']>();
  for (const t of targets) if (t.memory) idle.set(t.name, await idleCost(t.ports.echo, t.memory));
  for (const c of CONCURRENCY) {
    for (let r = 0; r < rounds; r++) {
      for (const [i, t] of targets.entries()) push(samples[i]!.tp, c, await throughput(t.ports.source, c));
      for (const [i, t] of targets.entries()) {
        const l = await latency(t.ports.echo, c);
        push(samples[i]!.p50, c, l.p50);
        push(samples[i]!.p99, c, l.p99);
        push(samples[i]!.rps, c, l.rps);
      }
    }
  }
  const rows: Row[] = [];
  for (const [i, t] of targets.entries()) {
    const s = samples[i]!;
    const pick = (m: Record<number, number[]>): Record<string, number> =>
      Object.fromEntries(CONCURRENCY.map((c) => [c, Math.round(medianOf(m[c] ?? []))]));
    const row: Row = { target: t.name, throughputMBps: pick(s.tp), p50us: pick(s.p50), p99us: pick(s.p99), rps: pick(s.rps) };
    const mem = idle.get(t.name);
    rows.push(mem ? { ...row, idle: mem } : row);
  }
  return rows;
}

// ---- HAProxy (optional) ------------------------------------------------------------------------

function haproxyPath(): string | undefined {
  try {
    return execFileSync('which', ['haproxy'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function startHaproxy(bin: string, backends: { source: number; echo: number }): Promise<{ child: ChildProcess; ports: { source: number; echo: number } }> {
  const [source, echo] = await Promise.all([freePort(), freePort()]);
  const cfg = [
    'global',
      // Within a 20,000 descriptor limit (HAProxy needs two per connection plus spares).
    '  maxconn 8000',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    `listen source`,
    `  bind 127.0.0.1:${source}`,
    `  server s1 127.0.0.1:${backends.source}`,
    `listen echo`,
    `  bind 127.0.0.1:${echo}`,
    `  server e1 127.0.0.1:${backends.echo}`,
    '',
  ].join('\n');
  const file = path.join(os.tmpdir(), `kp-bench-haproxy-${process.pid}.cfg`);
  writeFileSync(file, cfg);
  const child = spawn(bin, ['-db', '-f', file], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (await canConnect(echo)) break;
    await sleep(100);
  }
  return { child, ports: { source, echo } };
}

function rssOfPid(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function freePort(): Promise<number> {
  const s = await listen(net.createServer());
  const p = portOf(s);
  await new Promise((r) => s.close(r));
  return p;
}

function canConnect(port: number): Promise<boolean> {
  return connect(port).then(
    (s) => {
      s.destroy();
      return true;
    },
    () => false,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- main ----------------------------------------------------------------------------------------

export interface UserspaceBenchOptions {
  /** Seconds per measurement (default BENCH_SECONDS or 2). */
  readonly seconds?: number;
  /** Idle connections for the memory measurement (default 1000). */
  readonly idleConnections?: number;
  /** Interleaved rounds per measurement; the median is reported (default BENCH_ROUNDS or 3). */
  readonly rounds?: number;
  /** Include HAProxy when installed (default true). */
  readonly haproxy?: boolean;
}

export interface UserspaceBenchJson {
  readonly date: string;
  readonly node: string;
  readonly cpus: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly rows: readonly Row[];
  readonly targets: readonly TargetCheck[];
}

export interface TargetCheck {
  readonly target: string;
  readonly value: string;
  readonly goal: string;
  /** undefined when it could not be evaluated (no HAProxy). */
  readonly met: boolean | undefined;
}

export async function runUserspaceBench(opts: UserspaceBenchOptions = {}): Promise<{ markdown: string; json: UserspaceBenchJson }> {
  SECONDS = opts.seconds ?? SECONDS;
  IDLE_CONNECTIONS = opts.idleConnections ?? IDLE_CONNECTIONS;
  const source = await sourceServer();
  const echo = await echoServer();
  const backends = { source: portOf(source), echo: portOf(echo) };
  const targets: BenchTarget[] = [{ name: 'direct', ports: backends }];

  const child = fork(fileURLToPath(import.meta.url), ['--proxy-child'], {
    execArgv: ['--expose-gc'],
    // The glibc settings of the Dockerfile, so memory is what a deployed daemon would show.
    env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536', ...process.env, BENCH_BACKENDS: `${backends.source},${backends.echo}` },
  });
  const ready = await new Promise<{ ports: number[] }>((resolve) =>
    child.on('message', (m: { type: string; ports?: number[] }) => {
      if (m.type === 'ready' && m.ports) resolve({ ports: m.ports });
    }),
  );
  const childMemory = (): Promise<Mem> =>
    new Promise((resolve) => {
      const on = (m: { type: string; rss?: number; heap?: number; heapTotal?: number }): void => {
        if (m.type !== 'mem') return;
        child.off('message', on);
        resolve({ rss: m.rss ?? 0, heap: m.heap ?? 0, heapTotal: m.heapTotal ?? 0 });
      };
      child.on('message', on);
      child.send('mem');
    });
  const [proxySource, proxyEcho] = ready.ports as [number, number];
  targets.push({ name: PROXY, ports: { source: proxySource, echo: proxyEcho }, memory: childMemory });

  const bin = opts.haproxy === false ? undefined : haproxyPath();
  const h = bin ? await startHaproxy(bin, backends) : undefined;
  if (h) {
    const pid = h.child.pid ?? 0;
    targets.push({ name: HAPROXY, ports: h.ports, memory: async () => ({ rss: rssOfPid(pid) }) });
  }
  let rows: Row[];
  try {
    rows = await measureAll(targets, opts.rounds ?? ROUNDS);
  } finally {
    child.send('exit');
    await new Promise((r) => child.once('exit', r));
    if (h) {
      h.child.kill('SIGTERM');
      await new Promise((r) => (h.child.exitCode !== null ? r(null) : h.child.once('exit', r)));
    }
  }

  // Not awaiting server.close(): it would wait for backend-side sockets still winding down.
  source.close();
  echo.close();
  const checks = checkTargets(rows);
  const markdown = render(rows, bin !== undefined, checks);
  const json: UserspaceBenchJson = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, seconds: SECONDS, rounds: opts.rounds ?? ROUNDS, rows, targets: checks };
  return { markdown, json };
}

const PROXY = 'kube-proxy-ts userspace';
const HAPROXY = 'haproxy (tcp mode)';

function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const direct = rows.find((r) => r.target === 'direct');
  const proxy = rows.find((r) => r.target === PROXY);
  const ha = rows.find((r) => r.target === HAPROXY);
  const out: TargetCheck[] = [];
  if (!proxy || !direct) return out;
  for (const c of CONCURRENCY) {
    const ours = proxy.throughputMBps[c] ?? 0;
    const theirs = ha?.throughputMBps[c];
    out.push({
      target: `throughput, ${c} conn`,
      value: theirs ? `${ours} MB/s = ${Math.round((ours / theirs) * 100)}% of HAProxy's ${theirs}` : `${ours} MB/s`,
      goal: '>= 90% of HAProxy',
      met: theirs ? ours >= 0.9 * theirs : undefined,
    });
  }
  for (const c of CONCURRENCY) {
    const base = direct.p99us[c] ?? 0;
    const ours = Math.max(0, (proxy.p99us[c] ?? 0) - base);
    const theirs = ha ? Math.max(0, (ha.p99us[c] ?? 0) - base) : undefined;
    out.push({
      target: `added p99 latency, ${c} conn`,
      value: theirs !== undefined ? `${ours} µs vs HAProxy's ${theirs} µs` : `${ours} µs`,
      goal: '<= 1.5x HAProxy',
      // Within 1.5x, or within the measurement's resolution (a few µs) when both are tiny.
      met: theirs !== undefined ? ours <= Math.max(1.5 * theirs, theirs + 20) : undefined,
    });
  }
  const kib = proxy.idle?.rssKiBPer1000;
  out.push({
    target: 'memory per 1,000 idle conns',
    value: kib !== undefined ? `${(kib / 1024).toFixed(1)} MiB RSS marginal (${((proxy.idle?.rssFirstKiBPer1000 ?? 0) / 1024).toFixed(1)} MiB first batch)` : 'n/a',
    goal: '<= 10 MB',
    met: kib !== undefined ? kib * 1024 <= 10e6 : undefined,
  });
  return out;
}

async function main(): Promise<void> {
  const { markdown, json } = await runUserspaceBench();
  console.log(markdown);
  const dir = path.join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `userspace-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`\nJSON written to ${path.relative(process.cwd(), file)}`);
  process.exit(0);
}

function render(rows: readonly Row[], haproxy: boolean, targets: readonly TargetCheck[]): string {
  const cols = rows.map((r) => r.target);
  const line = (label: string, f: (r: Row) => string): string => `| ${label} | ${rows.map(f).join(' | ')} |`;
  const out = [`| metric | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  for (const c of CONCURRENCY) {
    out.push(line(`throughput MB/s, ${c} conn`, (r) => String(r.throughputMBps[c] ?? '')));
    out.push(line(`requests/s, ${c} conn (64 B echo)`, (r) => String(r.rps[c] ?? '')));
    out.push(line(`latency p50 µs, ${c} conn`, (r) => String(r.p50us[c] ?? '')));
    out.push(line(`latency p99 µs, ${c} conn`, (r) => String(r.p99us[c] ?? '')));
  }
  out.push(line(`RSS KiB per 1,000 idle conns (2nd batch, marginal)`, (r) => (r.idle ? String(r.idle.rssKiBPer1000) : 'n/a')));
  out.push(line(`RSS KiB per 1,000 idle conns (1st batch, fresh process)`, (r) => (r.idle ? String(r.idle.rssFirstKiBPer1000) : 'n/a')));
  out.push(line(`heap used / committed KiB per 1,000 idle conns (2nd batch)`, (r) =>
    r.idle?.heapKiBPer1000 !== undefined ? `${r.idle.heapKiBPer1000} / ${r.idle.heapTotalKiBPer1000 ?? 'n/a'}` : 'n/a'));
  if (!haproxy) out.push('', '_haproxy not installed: its column is omitted._');
  out.push('', '| target | measured | goal | met |', '|---|---|---|---|');
  for (const t of targets) out.push(`| ${t.target} | ${t.value} | ${t.goal} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  return out.join('\n');
}

// Run as a script (node dist/bench/userspace.js) or as the forked proxy child; imported, it only
// exports runUserspaceBench.
if (process.argv.includes('--proxy-child')) void runProxyChild();
else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
