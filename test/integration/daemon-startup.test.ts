// The real daemon process with credentials it cannot use (issue #16): a kubeconfig whose
// certificate-authority file does not exist, whose token file is missing or unreadable, or that is
// not a kubeconfig at all. Like upstream, it must stop at once with exit code 1 and a message
// naming the file, instead of starting and retrying the same local error forever.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApiServer, kubeconfigFor, makeNode } from '../apiserver/index.js';
import { DaemonProcess, MAIN_JS, writeTempFile } from './daemon-process.js';

let api: TestApiServer;
const started: DaemonProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'kpt-startup-'));

beforeAll(async () => {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run 'npx tsc -p .' (scripts/test.sh does)`);
  api = await TestApiServer.start({ https: true });
  api.create(makeNode({ name: 'node-a', internalIPs: ['198.18.0.1'] }));
});

afterAll(async () => {
  for (const d of started) await d.stop();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the daemon and waits (bounded) for it to exit; a daemon still running fails the test. */
async function exitOf(kubeconfig: string): Promise<{ code: number; d: DaemonProcess }> {
  const d = DaemonProcess.start([
    `--kubeconfig=${kubeconfig}`,
    '--mode=noop',
    '--hostname-override=node-a',
    '--metrics-bind-address=127.0.0.1:0',
    '--healthz-bind-address=127.0.0.1:0',
  ]);
  started.push(d);
  const timeout = new Promise<'running'>((r) => setTimeout(() => r('running'), 15_000).unref());
  const code = await Promise.race([d.wait(), timeout]);
  if (code === 'running') throw new Error(`daemon still running after 15 s with ${kubeconfig}:\n${d.tail()}`);
  return { code, d };
}

/** The kubeconfig the test apiserver would hand out, with one part replaced. */
function variant(replace: (yaml: string) => string): string {
  const good = kubeconfigFor(api);
  const text = replace(good);
  expect(text).not.toBe(good);
  return writeTempFile('kubeconfig', text);
}

function expectNamed(d: DaemonProcess, file: string): void {
  const fatal = d.logs.filter((l) => l.level === 'error');
  expect(fatal, d.tail()).toHaveLength(1);
  expect(fatal[0]).toMatchObject({ msg: 'cannot use the API credentials; exiting', file });
  expect(String(fatal[0]?.['err'])).toContain(file);
  // Nothing was served or watched before it gave up, and no stack trace was printed.
  expect(d.logs.some((l) => l.msg === 'serving health checks' || String(l.msg).startsWith('watch'))).toBe(false);
  expect(d.raw.join('\n')).not.toMatch(/\n\s+at /);
}

describe('daemon start-up with unusable credentials (exit 1, naming the file)', () => {
  it('a certificate-authority file that does not exist', async () => {
    const ca = join(dir, 'missing-ca.crt');
    const kc = variant((y) => y.replace(/certificate-authority-data: .*/, `certificate-authority: ${ca}`));
    const { code, d } = await exitOf(kc);
    expect(code).toBe(1);
    expectNamed(d, ca);
  });

  it('a token file that is missing, or cannot be read', async () => {
    const missing = join(dir, 'missing-token');
    const { code, d } = await exitOf(variant((y) => y.replace(/ token: .*/, ` tokenFile: ${missing}`)));
    expect(code).toBe(1);
    expectNamed(d, missing);
    // A directory where the token should be: EISDIR (as root every plain file is readable).
    const r2 = await exitOf(variant((y) => y.replace(/ token: .*/, ` tokenFile: ${dir}`)));
    expect(r2.code).toBe(1);
    expectNamed(r2.d, dir);
    expect(String(r2.d.logs.find((l) => l.level === 'error')?.['err'])).toMatch(/EISDIR/);
  });

  it('a kubeconfig that is not YAML, or not a kubeconfig', async () => {
    const garbage = writeTempFile('kubeconfig', 'apiVersion: v1\nclusters: [\n  {name: : oops\n');
    const r1 = await exitOf(garbage);
    expect(r1.code).toBe(1);
    expectNamed(r1.d, garbage);
    expect(String(r1.d.logs.find((l) => l.level === 'error')?.['err'])).toMatch(/not valid YAML/);
    const text = writeTempFile('kubeconfig', 'hello\n');
    const r2 = await exitOf(text);
    expect(r2.code).toBe(1);
    expectNamed(r2.d, text);
  });

  it('still starts with a good tokenFile (client-go spelling), read relative to the kubeconfig', async () => {
    const kc = writeTempFile('kubeconfig', kubeconfigFor(api).replace(/ token: .*/, ' tokenFile: token'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(kc, '..', 'token'), `${api.token}\n`);
    const d = DaemonProcess.start([
      `--kubeconfig=${kc}`,
      '--mode=noop',
      '--hostname-override=node-a',
      '--metrics-bind-address=127.0.0.1:0',
      '--healthz-bind-address=127.0.0.1:0',
    ]);
    started.push(d);
    await d.waitForLog((l) => l.msg === 'all informers synced', 'synced with the token from the file', 30_000);
    expect(d.logs.filter((l) => l.level === 'warn' && String(l.msg).startsWith('watch'))).toEqual([]);
  });
});
