// The daemon, started as a user starts it (the bin, no flags), lists and watches through the real
// client-node without loading its generated API: not gen/index.js (every API group and model) nor
// the model serializer, only KubeConfig and ListWatch (loaded from their source as data: URL
// modules with the generated API's imports pointed at stand-ins: proxy/client-node-slim.ts) and Watch. Which modules were loaded is recorded by a test-only load hook.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApiServer, kubeconfigFor, makeEndpointSlice, makeNode, makeService } from '../apiserver/index.js';
import { DaemonProcess, MAIN_JS, REPO_ROOT, writeTempFile } from './daemon-process.js';

const NODE = 'node-a';
const RECORDER = join(REPO_ROOT, 'test/support/record-loads.mjs');
let api: TestApiServer;
let dir: string;

beforeAll(async () => {
  api = await TestApiServer.start({});
  api.create(makeNode({ name: NODE, internalIPs: ['198.18.0.1'] }));
  api.create(makeService({ name: 'web', clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80 }] }));
  api.create(makeEndpointSlice({ service: 'web', endpoints: [{ ip: '198.18.1.1', nodeName: NODE }], ports: [{ name: 'http', port: 8080 }] }));
  dir = mkdtempSync(join(tmpdir(), 'kpt-loads-'));
});

afterAll(async () => {
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('client-node without its generated API', () => {
  it('the daemon lists and watches with KubeConfig, Watch and ListWatch only', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--import=${RECORDER}`, KPT_RECORD_LOADS_DIR: dir };
    const kubeconfig = writeTempFile('kubeconfig', kubeconfigFor(api));
    const daemon = DaemonProcess.start(
      [`--kubeconfig=${kubeconfig}`, '--mode=noop', `--hostname-override=${NODE}`, '--metrics-bind-address=127.0.0.1:0', '--healthz-bind-address=127.0.0.1:0', '-v=2'],
      env,
      [],
      MAIN_JS,
    );
    try {
      await daemon.waitForLog((l) => l.msg === 'initial lists received; starting the sync loop', 'initial lists', 60_000);
      // The listed objects arrived (the lists are plain GETs now: proxy/watch/list.ts).
      await daemon.waitForLog((l) => l.msg === 'informer synced' && l['resource'] === 'services' && l['objects'] === 1, 'services listed', 30_000);
      await daemon.waitForLog((l) => l.msg === 'informer synced' && l['resource'] === 'endpointslices' && l['objects'] === 1, 'slices listed', 30_000);
    } finally {
      await daemon.stop();
    }
    // The process that loaded the daemon (the only process: there is no supervisor).
    const loads = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
    const daemonLoads = loads.find((urls) => urls.some((u) => u.endsWith('/dist/proxy/cli-main.js')));
    expect(daemonLoads, `recorded: ${loads.map((u) => u.length).join(', ')} modules`).toBeDefined();
    const clientNode = daemonLoads!.filter((u) => u.includes('/@kubernetes/client-node/dist/')).map((u) => u.slice(u.indexOf('/dist/') + 6));
    expect(clientNode).toEqual(expect.arrayContaining(['watch.js', 'config_types.js']));
    // config.js and cache.js ran from their rewritten source, not from their files (whose imports
    // would load the generated API and, through informer.js, the real cache.js).
    const dataSources = daemonLoads!.filter((u) => u.startsWith('data:text/javascript;base64,')).map((u) => Buffer.from(u.slice(u.indexOf(',') + 1), 'base64').toString('utf8'));
    expect(dataSources.some((src) => /export class KubeConfig\b/.test(src))).toBe(true);
    expect(dataSources.some((src) => /export class ListWatch\b/.test(src))).toBe(true);
    expect(clientNode).not.toContain('config.js');
    expect(clientNode).not.toContain('cache.js');
    expect(clientNode).not.toContain('informer.js');
    expect(clientNode).not.toContain('gen/index.js');
    expect(clientNode).not.toContain('gen/models/ObjectSerializer.js');
    expect(clientNode).not.toContain('serializer.js');
    expect(clientNode.filter((u) => u.startsWith('gen/apis/'))).toEqual([]);
    expect(clientNode.filter((u) => u.startsWith('gen/models/'))).toEqual([]);
    expect(daemon.raw.filter((l) => l.includes('in full'))).toEqual([]);
    expect(daemonLoads!.some((u) => u.endsWith('/dist/proxy/client-node-slim-gen.js'))).toBe(true);
  });
});
