// The bin started plainly (`node dist/proxy/main.js`, no flags, no MALLOC_* environment) runs the
// daemon with the image's memory settings: a child process with --optimize-for-size and the glibc
// settings, which SIGTERM to the started process stops cleanly (exit code 0).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApiServer, kubeconfigFor, makeNode } from '../apiserver/index.js';
import { DaemonProcess, MAIN_JS, REPO_ROOT, eventually, writeTempFile } from './daemon-process.js';

const NODE = 'node-a';
let api: TestApiServer;

function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'KUBE_PROXY_TS_LAUNCHED', 'NODE_OPTIONS']) delete env[k];
  return env;
}

function nulSplit(path: string): string[] {
  return readFileSync(path, 'utf8').split('\0').filter(Boolean);
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // the process exited while we looked
    }
  }
  return out;
}

beforeAll(async () => {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run 'npx tsc -p .' (scripts/test.sh does)`);
  api = await TestApiServer.start({});
  api.create(makeNode({ name: NODE, internalIPs: ['198.18.0.1'] }));
});

afterAll(async () => {
  await api?.close();
});

describe('the bin started plainly', () => {
  it('node dist/proxy/main.js (the package bin) re-executes once with --optimize-for-size and the glibc settings; SIGTERM stops it with 0', async () => {
    const entry = MAIN_JS;
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(join(REPO_ROOT, pkg.bin['kube-proxy-ts']!)).toBe(MAIN_JS);
    const kubeconfig = writeTempFile('kubeconfig', kubeconfigFor(api));
    const daemon = DaemonProcess.start(
      [`--kubeconfig=${kubeconfig}`, '--mode=noop', `--hostname-override=${NODE}`, '--metrics-bind-address=127.0.0.1:0', '--healthz-bind-address=127.0.0.1:0'],
      plainEnv(),
      [],
      entry,
    );
    try {
      await daemon.waitForLog((l) => l.msg === 'initial lists received; starting the sync loop', 'initial lists', 60_000);
      const parent = daemon.child.pid!;
      expect(nulSplit(`/proc/${parent}/cmdline`)).not.toContain('--optimize-for-size');
      const kids = childrenOf(parent);
      expect(kids).toHaveLength(1);
      const child = kids[0]!;
      const argv = nulSplit(`/proc/${child}/cmdline`);
      expect(argv).toContain('--optimize-for-size');
      expect(argv).toContain(entry);
      expect(argv).toContain('--mode=noop');
      const env = nulSplit(`/proc/${child}/environ`);
      expect(env).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=65536', `KUBE_PROXY_TS_LAUNCHED=${parent}`]));
      // Exactly one re-execution: the child runs the daemon itself.
      expect(childrenOf(child).filter((p) => nulSplit(`/proc/${p}/cmdline`).includes(entry))).toEqual([]);

      expect(await daemon.stop()).toBe(0);
      expect(daemon.logs.some((l) => l.msg === 'received signal, shutting down' && l['signal'] === 'SIGTERM')).toBe(true);
      await eventually(async () => !existsSync(`/proc/${child}`), 'child gone');
    } finally {
      if (daemon.child.exitCode === null) await daemon.stop();
    }
  });

  it('a supervisor killed with SIGKILL (nothing to forward) still stops the daemon', async () => {
    const kubeconfig = writeTempFile('kubeconfig', kubeconfigFor(api));
    const daemon = DaemonProcess.start(
      [`--kubeconfig=${kubeconfig}`, '--mode=noop', `--hostname-override=${NODE}`, '--metrics-bind-address=127.0.0.1:0', '--healthz-bind-address=127.0.0.1:0'],
      plainEnv(),
      [],
      MAIN_JS,
    );
    try {
      await daemon.waitForLog((l) => l.msg === 'initial lists received; starting the sync loop', 'initial lists', 60_000);
      const [child] = childrenOf(daemon.child.pid!);
      expect(child).toBeDefined();
      daemon.child.kill('SIGKILL');
      await eventually(async () => !existsSync(`/proc/${child}`) || /\) Z /.test(readFileSync(`/proc/${child}/stat`, 'utf8')), 'orphaned daemon stopped', 20_000);
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  });

  it('still answers --version (quick commands are not re-executed: launch-plan.test.ts)', async () => {
    const daemon = DaemonProcess.start(['--version'], plainEnv());
    expect(await daemon.wait()).toBe(0);
    expect(daemon.raw.join('\n')).toMatch(/^kube-proxy-ts /m);
  });
});
