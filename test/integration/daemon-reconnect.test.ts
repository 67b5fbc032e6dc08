// The real daemon process losing its apiserver (issue #16): while the apiserver refuses the
// credentials (401) the daemon logs that once, not once per retry, and without response headers;
// after the apiserver process was gone for longer than the old 30 s backoff ceiling and comes back
// (answering 403 for a moment, as a restarted apiserver does before its RBAC is ready), a change
// made right after the restart is programmed within 10 s, and the log says the watch is back.

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApiServer, kubeconfigFor, makeEndpointSlice, makeNode, makeService } from '../apiserver/index.js';
import { DaemonProcess, MAIN_JS, eventually, sleep, writeTempFile, type LogRecord } from './daemon-process.js';

const NODE = 'node-a';
/**
 * Long enough for the old backoff (0.8 s doubling to 30 s, +0-50% jitter) to have made its 5th
 * attempt (at most 37.2 s in) and be waiting for its 6th (at least 50.4 s in): it would have seen
 * the apiserver again no sooner than 11.9 s after the restart.
 */
const OUTAGE_MS = 38_500;
/** What issue #16 asks for: a change made right after the apiserver returns, programmed by then. */
const PROGRAMMED_WITHIN_MS = 10_000;

let api: TestApiServer;
let daemon: DaemonProcess;
let metricsUrl: string;

const svcKeys = async (): Promise<string[]> =>
  ((await (await fetch(`${metricsUrl}/debug/state`)).json()) as { services: { key: string }[] }).services.map((s) => s.key);

function web(name: string, clusterIP: string, ip: string) {
  return [
    makeService({ name, namespace: 'default', clusterIP, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
    makeEndpointSlice({ service: name, namespace: 'default', name: `${name}-abc`, ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip, nodeName: NODE }] }),
  ] as const;
}

const watchLines = (pred: (l: LogRecord) => boolean): LogRecord[] => daemon.logs.filter((l) => l['component'] === 'watch' && pred(l));

beforeAll(async () => {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run 'npx tsc -p .' (scripts/test.sh does)`);
  api = await TestApiServer.start({ bookmarkIntervalMs: 500 });
  api.create(makeNode({ name: NODE, internalIPs: ['198.18.0.1'] }));
  for (const o of web('alpha', '198.19.0.10', '198.18.1.11')) api.create(o);
  daemon = DaemonProcess.start([
    `--kubeconfig=${writeTempFile('kubeconfig', kubeconfigFor(api))}`,
    '--mode=noop',
    `--hostname-override=${NODE}`,
    '--metrics-bind-address=127.0.0.1:0',
    '--healthz-bind-address=127.0.0.1:0',
    '--iptables-min-sync-period=100ms',
    '-v=2',
  ]);
  metricsUrl = await daemon.address('metrics');
  await eventually(async () => (await svcKeys()).includes('default/alpha:http'), 'alpha programmed', 30_000);
});

afterAll(async () => {
  const code = await daemon?.stop();
  await api?.close();
  expect(code).toBe(0);
});

describe('daemon losing its apiserver', () => {
  it('logs a repeated 401 once, without headers, and that the watch is back', async () => {
    const before = daemon.logs.length;
    const rejectedBefore = api.rejectedRequests();
    api.setRejecting(401);
    // Several retries of every informer (three of them) hit the 401.
    await eventually(async () => api.rejectedRequests() >= rejectedBefore + 9, 'retries', 30_000);
    api.setRejecting(undefined);
    await daemon.waitForLog((l) => daemon.logs.indexOf(l) >= before && l.msg === 'watch re-established', 'watch re-established', 30_000);
    const during = daemon.logs.slice(before);
    const warned = during.filter((l) => l.level === 'warn');
    expect(warned, daemon.tail()).toHaveLength(1);
    expect(warned[0]).toMatchObject({ msg: 'watch failed; retrying', component: 'watch', code: 401 });
    expect(String(warned[0]?.['reason'])).toMatch(/401 Unauthorized/);
    expect(during.filter((l) => l.msg === 'watch re-established')).toHaveLength(1);
    expect(daemon.raw.join('\n')).not.toMatch(/Headers|HTTP-Code|content-length/i);
  });

  it(
    'programs a change made right after the apiserver returns from a long outage within 10 s',
    async () => {
      const before = daemon.logs.length;
      await api.stop();
      await sleep(OUTAGE_MS);
      // A restarted apiserver answers 403 until its RBAC caches are filled (issue #16's ~22 s).
      api.setRejecting(403);
      await api.restart();
      const restartedAt = Date.now();
      const [beta, betaSlice] = web('beta', '198.19.0.11', '198.18.1.12');
      api.create(beta);
      api.create(betaSlice);
      await sleep(1500);
      api.setRejecting(undefined);
      await eventually(async () => (await svcKeys()).includes('default/beta:http'), 'beta programmed', 30_000, 50);
      const programmedMs = Date.now() - restartedAt;
      const back = await daemon.waitForLog((l) => daemon.logs.indexOf(l) >= before && l.msg === 'watch re-established', 're-established');
      process.stdout.write(`reconnect: beta programmed ${programmedMs} ms after the restart; ${JSON.stringify(back)}\n`);
      expect(programmedMs).toBeLessThanOrEqual(PROGRAMMED_WITHIN_MS);
      // Each distinct problem once: the refused connection, then each 403'd resource.
      const during = daemon.logs.slice(before);
      const warned = during.filter((l) => l.level === 'warn');
      const problems = warned.map((l) => `${String(l['reason'])}|${String(l['resource'])}`);
      expect(new Set(problems).size, daemon.tail(40)).toBe(problems.length);
      expect(warned.filter((l) => l['code'] === 'ECONNREFUSED')).toHaveLength(1);
      expect(watchLines((l) => l.msg === 'watch re-established' && daemon.logs.indexOf(l) >= before)).toHaveLength(1);
      // Programmed services were never dropped while the apiserver was away.
      expect(during.some((l) => l.msg === 'would remove service port')).toBe(false);
    },
    OUTAGE_MS + 60_000,
  );
});
