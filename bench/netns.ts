// Running the real daemon for benchmarks: a private network namespace (kptb-<rand>, deleted even
// on failure or Ctrl-C), the apiserver bridge (test/e2e/harness/forwarder.mjs), the daemon as a
// child process with parsed JSON logs, and an iptables-restore wrapper first in the daemon's PATH
// that keeps each payload and the exact time the real iptables-restore took.
//
// Nothing here touches the root network namespace: every ip/iptables command is `ip -n <ns>` or
// `ip netns exec <ns>`.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, type ExecResult } from '../modes/shared/exec.js';
import { BENCH_NODE_IP } from './generate.js';
import { wallMs } from './stats.js';

/** The compiled tree this file runs from (normally <repo>/dist). */
export const DIST_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Repository root; KPTB_REPO_ROOT overrides it when running from a copy of dist elsewhere. */
export const REPO_ROOT = process.env['KPTB_REPO_ROOT'] ?? resolve(DIST_ROOT, '..');
/** The daemon from the same compiled tree as the in-process code. */
export const DAEMON_ENTRY = join(DIST_ROOT, 'proxy/main.js');
/** The package's bin (package.json), which execs node on DAEMON_ENTRY. */
export const DAEMON_BIN = resolve(DIST_ROOT, '../bin/kube-proxy-ts');
const FORWARDER = join(REPO_ROOT, 'test/e2e/harness/forwarder.mjs');

// ------------------------------------------------------------------------------------------------
// Cleanup on any exit

const children = new Set<ChildProcess>();
const namespaces = new Set<string>();
let hooked = false;

function cleanupSync(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  for (const ns of namespaces) deleteNsSync(ns);
  namespaces.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.exit(130);
    });
  }
}

function track(c: ChildProcess): void {
  hook();
  children.add(c);
  c.once('exit', () => children.delete(c));
}

function deleteNsSync(ns: string): void {
  // Only our own processes run in our namespaces; kill any that outlived their parent.
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (r.stdout ?? '').split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

async function ok(argv: string[], input?: string): Promise<ExecResult> {
  const r = await exec(argv, input !== undefined ? { input, timeoutMs: 600_000 } : { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

// ------------------------------------------------------------------------------------------------
// Namespaces

export interface BenchNs {
  readonly name: string;
  exec(argv: readonly string[], input?: string): Promise<ExecResult>;
  destroy(): Promise<void>;
}

/** A fresh namespace with lo up and eth0 (a veth whose peer stays inside) carrying the node IP. */
export async function createNs(): Promise<BenchNs> {
  hook();
  const name = `kptb-${randomBytes(3).toString('hex')}`;
  await ok(['ip', 'netns', 'add', name]);
  namespaces.add(name);
  try {
    await ok(['ip', '-n', name, '-batch', '-'], [
      'link set lo up',
      'link add eth0 type veth peer name eth0p',
      'link set eth0p up',
      `addr add ${BENCH_NODE_IP}/24 dev eth0`,
      'link set eth0 up',
    ].join('\n') + '\n');
  } catch (e) {
    deleteNsSync(name);
    namespaces.delete(name);
    throw e;
  }
  return {
    name,
    exec: (argv, input) =>
      exec(['ip', 'netns', 'exec', name, ...argv], input !== undefined ? { input, timeoutMs: 600_000 } : { timeoutMs: 600_000 }),
    destroy: async () => {
      deleteNsSync(name);
      namespaces.delete(name);
    },
  };
}

// ------------------------------------------------------------------------------------------------
// The apiserver bridge

export interface Bridge {
  readonly url: string;
  stop(): void;
}

export function startBridge(ns: string, socket: string, port = 6443): Promise<Bridge> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, FORWARDER, '--host', '127.0.0.1', '--port', String(port), '--socket', socket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`forwarder not ready: ${err}`)), 10_000);
    child.stdout.on('data', (b: Buffer) => {
      if (!b.toString().includes('READY')) return;
      clearTimeout(timer);
      res({ url: `http://127.0.0.1:${port}`, stop: () => void child.kill('SIGTERM') });
    });
    child.once('exit', (code) => rej(new Error(`forwarder exited ${code}: ${err}`)));
  });
}

// ------------------------------------------------------------------------------------------------
// The iptables-restore wrapper

export interface RestoreRecord {
  readonly tool: string;
  /** Wall-clock ms: wrapper started, real restore started, restore exited. */
  readonly start: number;
  readonly restoreStart: number;
  readonly end: number;
  readonly rc: number;
  readonly file: string;
  readonly bytes: number;
}

export class RestoreRecorder {
  readonly binDir: string;
  readonly dataDir: string;
  private readonly log: string;
  private offset = 0;
  readonly records: RestoreRecord[] = [];

  constructor(readonly dir: string) {
    this.binDir = join(dir, 'bin');
    this.dataDir = join(dir, 'payloads');
    this.log = join(dir, 'restores.log');
    mkdirSync(this.binDir, { recursive: true });
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(this.log, '');
    for (const tool of ['iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save']) {
      const real = realBinary(tool);
      if (!real) continue;
      const path = join(this.binDir, tool);
      // Saves are timed too (a full sync reads the kernel's state first); output passes through.
      writeFileSync(
        path,
        ['#!/bin/bash', 's1=$EPOCHREALTIME', `${real} "$@"`, 'rc=$?', 's2=$EPOCHREALTIME', `echo "${tool} $s1 $s1 $s2 $rc -" >> "${this.log}"`, 'exit $rc', ''].join('\n'),
      );
      chmodSync(path, 0o755);
    }
    for (const tool of ['iptables-nft-restore', 'ip6tables-nft-restore', 'iptables-legacy-restore', 'ip6tables-legacy-restore']) {
      const real = realBinary(tool);
      if (!real) continue;
      const path = join(this.binDir, tool);
      // $EPOCHREALTIME is a bash builtin (no fork). The copy to a file happens before the timed part.
      writeFileSync(
        path,
        [
          '#!/bin/bash',
          's0=$EPOCHREALTIME',
          `f="${this.dataDir}/${tool}-$s0-$$"`,
          'cat > "$f"',
          's1=$EPOCHREALTIME',
          `${real} "$@" < "$f"`,
          'rc=$?',
          's2=$EPOCHREALTIME',
          `echo "${tool} $s0 $s1 $s2 $rc $f" >> "${this.log}"`,
          'exit $rc',
          '',
        ].join('\n'),
      );
      chmodSync(path, 0o755);
    }
  }

  /** Reads records appended since the last poll. */
  poll(): RestoreRecord[] {
    const text = readFileSync(this.log, 'utf8');
    const fresh = text.slice(this.offset);
    const complete = fresh.slice(0, fresh.lastIndexOf('\n') + 1);
    this.offset += complete.length;
    const out: RestoreRecord[] = [];
    for (const line of complete.split('\n')) {
      const [tool, s0, s1, s2, rc, file] = line.split(' ');
      if (!tool || !file) continue;
      const sec = (x: string | undefined): number => Number(x) * 1000;
      let bytes = 0;
      try {
        if (file !== '-') bytes = statSync(file).size;
      } catch {
        // deleted
      }
      out.push({ tool, start: sec(s0), restoreStart: sec(s1), end: sec(s2), rc: Number(rc), file, bytes });
    }
    this.records.push(...out);
    return out;
  }

  /** Delete payload files we no longer need (keeps the records). */
  drop(records: readonly RestoreRecord[]): void {
    for (const r of records) if (r.file !== '-') rmSync(r.file, { force: true });
  }
}

function realBinary(tool: string): string | undefined {
  for (const d of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) if (existsSync(join(d, tool))) return join(d, tool);
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// The daemon

export interface LogRecord {
  readonly msg?: string;
  readonly [k: string]: unknown;
}

export interface Timed<T> {
  /** Wall-clock ms when the line arrived. */
  readonly t: number;
  readonly rec: T;
}

export interface SyncLine extends LogRecord {
  readonly full: boolean;
  /** Why the sync ran (sync/runner.ts SyncReason): 'request' unless initial, periodic or a retry. */
  readonly reason?: string;
  readonly durationMs: number;
  readonly servicePorts: number;
  readonly changed: number;
  readonly bytes?: number;
}

export class BenchDaemon {
  readonly started: number;
  readonly syncs: Timed<SyncLine>[] = [];
  readonly marks = new Map<string, number>();
  private tail: string[] = [];
  private waiters: Array<() => void> = [];
  private exitCode: number | null = null;
  readonly exited: Promise<number>;

  private constructor(readonly child: ChildProcess, readonly ns: string) {
    this.started = wallMs();
    let buf = '';
    const onData = (b: Buffer): void => {
      buf += b.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.line(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((res) =>
      child.once('exit', (code, sig) => {
        this.exitCode = code ?? (sig ? 128 : 1);
        this.wake();
        res(this.exitCode);
      }),
    );
  }

  static start(ns: string, args: readonly string[], env: NodeJS.ProcessEnv): BenchDaemon {
    // As a user starts it: the package's bin (bin/kube-proxy-ts, which execs node with the memory
    // settings), no V8 flags and none of those settings in the environment, so whatever the daemon
    // does to get them is part of what is measured. KPTB_DAEMON_START=node runs `node
    // dist/proxy/main.js ARGS` instead (the settings it sets at run time only: proxy/memory-settings.ts).
    // KPTB_DAEMON_NODE_OPTIONS adds V8/Node flags for investigations (e.g. --cpu-prof; with the
    // bin, through NODE_OPTIONS); KPTB_DAEMON_ENV="K=V ..." adds environment variables.
    const extra = (process.env['KPTB_DAEMON_NODE_OPTIONS'] ?? '').split(' ').filter((x) => x !== '');
    const extraEnv = Object.fromEntries(
      (process.env['KPTB_DAEMON_ENV'] ?? '').split(' ').filter((x) => x.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const viaNode = process.env['KPTB_DAEMON_START'] === 'node';
    const argv = viaNode ? [process.execPath, ...extra, DAEMON_ENTRY, ...args] : [DAEMON_BIN, ...args];
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...userEnv(process.env), ...(viaNode || extra.length === 0 ? {} : { NODE_OPTIONS: extra.join(' ') }), ...extraEnv, ...env },
    });
    track(child);
    return new BenchDaemon(child, ns);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private line(raw: string): void {
    const t = wallMs();
    // Investigation aid: KPTB_DAEMON_LOG=<file> keeps every line the daemon wrote, time-stamped.
    const logFile = process.env['KPTB_DAEMON_LOG'];
    if (logFile) appendFileSync(logFile, `${t.toFixed(0)} ${raw}\n`);
    this.tail.push(raw);
    if (this.tail.length > 60) this.tail.shift();
    let rec: LogRecord;
    try {
      rec = JSON.parse(raw) as LogRecord;
    } catch {
      return;
    }
    if (rec.msg === 'synced proxy rules') this.syncs.push({ t, rec: rec as SyncLine });
    else if (typeof rec.msg === 'string' && !this.marks.has(rec.msg)) this.marks.set(rec.msg, t);
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves once `pred()` is true (checked on every log line and every 50 ms). */
  async until(pred: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.exitCode !== null) throw new Error(`daemon exited ${this.exitCode} while waiting for ${what}:\n${this.tail.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${this.tail.slice(-15).join('\n')}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  logTail(n = 20): string {
    return this.tail.slice(-n).join('\n');
  }

  /** VmRSS of the daemon's whole process tree (every node process in it, summed). */
  rssBytes(): number {
    return this.memory().rssTotal;
  }

  /**
   * Memory of every process the daemon consists of (it shares our PID namespace). The RSS sum
   * would count the node binary's pages, which a parent and a child node process share, in both; a container's
   * memory accounting counts them once (sharedOnceTotal). PSS would split shared pages among every
   * process mapping them, other node processes on the host included, so it is not used.
   */
  memory(): TreeMemory {
    // Only the daemon's own node processes: the iptables-restore/-save it runs come and go.
    const pids = processTree(this.pid).filter((pid) => isDaemonProcess(pid));
    const per = pids.map((pid) => ({ pid, ...procMemory(pid) }));
    return {
      processes: per.length,
      rssTotal: per.reduce((a, p) => a + p.rss, 0),
      anonTotal: per.reduce((a, p) => a + p.anon, 0),
      // Node processes of one tree map the same node binary and libraries: count those pages once.
      sharedOnceTotal: per.reduce((a, p) => a + p.rss - p.file, 0) + Math.max(0, ...per.map((p) => p.file)),
      // The process that runs the sync loop is the newest (a child, or the only one).
      daemonRss: per.at(-1)?.rss ?? NaN,
    };
  }

  /** The pid of the process running the sync loop (the newest node process of the tree). */
  memoryPid(): number {
    return processTree(this.pid).filter((pid) => isDaemonProcess(pid)).at(-1) ?? this.pid;
  }

  async metrics(port: number): Promise<string> {
    return this.get(port, '/metrics');
  }

  /** GET one path of the daemon's metrics server (from inside its namespace). */
  async get(port: number, path: string): Promise<string> {
    const r = await exec(['ip', 'netns', 'exec', this.ns, 'curl', '-sf', '--max-time', '10', `http://127.0.0.1:${port}${path}`], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`${path}: curl exited ${r.code}`);
    return r.stdout;
  }

  async stop(): Promise<void> {
    if (this.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface TreeMemory {
  readonly processes: number;
  readonly rssTotal: number;
  readonly anonTotal: number;
  /** RSS with file-backed pages (the node binary, shared libraries) counted once, not per process. */
  readonly sharedOnceTotal: number;
  /** RSS of the process running the daemon itself (the newest node process of the tree). */
  readonly daemonRss: number;
}

/** Memory settings a user's shell would not have: the bench must not hand them to the daemon. */
const DAEMON_SETTINGS_ENV = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS'];

function userEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of DAEMON_SETTINGS_ENV) delete out[k];
  return out;
}

/** `root` and its descendants, parents first (from /proc/<pid>/stat; no /proc/.../children here). */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === out[i]) out.push(pid);
  }
  return out;
}

function isDaemonProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(DAEMON_ENTRY);
  } catch {
    return false;
  }
}

/** RSS, anonymous and file-backed RSS of one process in bytes (0 when it is gone). */
export function procMemory(pid: number): { rss: number; anon: number; file: number } {
  const kb = (text: string, key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: kb(status, 'VmRSS'), anon: kb(status, 'RssAnon'), file: kb(status, 'RssFile') };
  } catch {
    return { rss: 0, anon: 0, file: 0 };
  }
}

/** Value of an unlabelled (or first matching) sample in Prometheus text. */
export function metricValue(text: string, name: string): number {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}
