// The daemon as a user starts it gets the image's memory settings in ONE process (no supervisor):
// - `node dist/proxy/main.js` with no flags and no environment: the V8 heap flags are set at run
//   time (proxy/memory-settings.ts); the young generation stays at --optimize-for-size's 1 MiB
//   semi-spaces under allocation that grows it to 16 MiB by default (test/support/young-gen-probe.mjs);
// - the package's bin (bin/kube-proxy-ts): the same process (exec) with --optimize-for-size and
//   glibc's MALLOC_* settings, the user's own values winning; SIGTERM stops it with 0.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApiServer, kubeconfigFor, makeNode } from '../apiserver/index.js';
import { DaemonProcess, MAIN_JS, REPO_ROOT, writeTempFile } from './daemon-process.js';

const NODE = 'node-a';
const PROBE = join(REPO_ROOT, 'test/support/young-gen-probe.mjs');
const BIN = join(REPO_ROOT, 'bin/kube-proxy-ts');
const MiB = 1024 * 1024;
let api: TestApiServer;
let dir: string;

/** What a user's shell has: none of the settings. */
function plainEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS']) delete env[k];
  return { ...env, ...extra };
}

const nulSplit = (path: string): string[] => readFileSync(path, 'utf8').split('\0').filter(Boolean);

function nodeChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function daemonArgs(): string[] {
  const kubeconfig = writeTempFile('kubeconfig', kubeconfigFor(api));
  return [`--kubeconfig=${kubeconfig}`, '--mode=noop', `--hostname-override=${NODE}`, '--metrics-bind-address=127.0.0.1:0', '--healthz-bind-address=127.0.0.1:0'];
}

beforeAll(async () => {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run 'npx tsc -p .' (scripts/test.sh does)`);
  api = await TestApiServer.start({});
  api.create(makeNode({ name: NODE, internalIPs: ['198.18.0.1'] }));
  dir = mkdtempSync(join(tmpdir(), 'kpt-memset-'));
});

afterAll(async () => {
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function youngGenOf(start: (env: NodeJS.ProcessEnv) => DaemonProcess, name: string): Promise<{ bytes: number; daemon: DaemonProcess }> {
  const out = join(dir, name);
  const daemon = start(plainEnv({ NODE_OPTIONS: `--import=${PROBE}`, KPT_YOUNG_GEN_OUT: out }));
  await daemon.waitForLog((l) => l.msg === 'initial lists received; starting the sync loop', 'initial lists', 60_000);
  const deadline = Date.now() + 30_000;
  while (!existsSync(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return { bytes: Number(readFileSync(out, 'utf8')), daemon };
}

describe('the daemon as a user starts it', () => {
  it('node dist/proxy/main.js, no flags: one process whose young generation stays at 1 MiB semi-spaces', async () => {
    const { bytes, daemon } = await youngGenOf((env) => DaemonProcess.start(daemonArgs(), env), 'plain');
    try {
      const pid = daemon.child.pid!;
      expect(nulSplit(`/proc/${pid}/cmdline`)).not.toContain('--optimize-for-size');
      expect(nodeChildren(pid)).toEqual([]);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(2 * MiB);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('the same probe in a bare node process (no daemon settings) sees the young generation grow', async () => {
    // The probe's allocation really is what grows V8's young generation by default, so the test
    // above can fail.
    const out = join(dir, 'bare');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('node', [`--import=${PROBE}`, '-e', 'setTimeout(() => {}, 4000)'], { env: plainEnv({ KPT_YOUNG_GEN_OUT: out }) });
    expect(r.status).toBe(0);
    expect(Number(readFileSync(out, 'utf8'))).toBeGreaterThan(4 * MiB);
  });

  it('the package bin (bin/kube-proxy-ts) execs node itself with --optimize-for-size and the glibc settings', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(join(REPO_ROOT, pkg.bin['kube-proxy-ts']!)).toBe(BIN);
    const { bytes, daemon } = await youngGenOf((env) => DaemonProcess.startExecutable(BIN, daemonArgs(), { ...env, MALLOC_ARENA_MAX: '4' }), 'bin');
    try {
      const pid = daemon.child.pid!;
      const argv = nulSplit(`/proc/${pid}/cmdline`);
      expect(argv).toContain('--optimize-for-size');
      expect(argv).toContain(MAIN_JS);
      expect(nodeChildren(pid)).toEqual([]);
      // The user's MALLOC_ARENA_MAX wins; the missing one is added.
      expect(nulSplit(`/proc/${pid}/environ`)).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=4', 'MALLOC_MMAP_THRESHOLD_=65536']));
      expect(bytes).toBeLessThanOrEqual(2 * MiB);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
    expect(daemon.logs.some((l) => l.msg === 'received signal, shutting down' && l['signal'] === 'SIGTERM')).toBe(true);
  });

  it('the bin answers --version', async () => {
    const daemon = DaemonProcess.startExecutable(BIN, ['--version'], plainEnv());
    expect(await daemon.wait()).toBe(0);
    expect(daemon.raw.join('\n')).toMatch(/^kube-proxy-ts /m);
  });
});
