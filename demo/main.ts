// The demo (bash scripts/demo.sh, as root): a two-node cluster made of network namespaces (the
// e2e harness's: node A with pods a1, a2 and a client pod, node B with b1, b2, an external client
// on the LAN), the stand-in apiserver serving the sample Services of demo/scenario.ts, the real
// daemon in each node namespace, and a live view of which pod answered each client's requests.
// Every few seconds one endpoint joins or leaves default/web and the traffic follows.
//
// Nothing is added to the root namespace: the apiserver listens on a unix socket that a forwarder
// inside each node namespace exposes on 127.0.0.1:6443 there. Ctrl-C, SIGTERM, --seconds or a
// crash all end in the harness's teardown (every process in the namespaces killed, the namespaces
// deleted); the owner record lets the next run sweep what a SIGKILLed run left.
//
// This is a development tool, not the daemon: it imports the test harness and apiserver, and
// lives outside proxy/ so the daemon's dist/proxy never does.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TestApiServer } from '../test/apiserver/server.js';
import { kubeconfigFor } from '../test/apiserver/kubeconfig.js';
import { apiserverBridge, type ApiserverBridge } from '../test/e2e/harness/bridge.js';
import { createCluster, type Cluster, type NodeHandle } from '../test/e2e/harness/cluster.js';
import { DEFAULT_DAEMON_ENTRY, startDaemon, type Daemon } from '../test/e2e/harness/daemon.js';
import { nsExec, sweepStale } from '../test/e2e/harness/ns.js';
import { stopChild, track } from '../test/e2e/harness/processes.js';
import { isRoot } from '../test/e2e/harness/root.js';
import { parseDemoArgs, USAGE, type DemoOptions } from './args.js';
import { NODE_NAMES, PROBES, SCALED_POD, endpointPods, initialObjects, webSlice, type Source } from './scenario.js';
import type { TrafficResult, TrafficSpec } from './traffic.js';
import { SecondCounts, renderJson, renderPlain, renderTable, type Frame, type Row } from './view.js';

const METRICS = '127.0.0.1:10249';
const TRAFFIC_ENTRY = join(fileURLToPath(new URL('.', import.meta.url)), 'traffic.js');
/** Namespace tag: every demo namespace is kptdemo<hex>-<name>. */
export const DEMO_TAG = 'demo';

/** Everything the demo started, filled in as set-up goes, so a half-finished set-up is torn down too. */
interface Running {
  cluster?: Cluster;
  api?: TestApiServer;
  readonly bridges: ApiserverBridge[];
  readonly daemons: Daemon[];
  readonly traffic: ChildProcess[];
  readonly dir: string;
}

interface Started extends Running {
  readonly cluster: Cluster;
  readonly api: TestApiServer;
}

/** Where the human-readable set-up text goes: stderr in --json mode, so stdout stays JSON lines. */
let info: (text: string) => void = (t) => process.stdout.write(t + '\n');
let json: (v: Record<string, unknown>) => void = () => undefined;

function daemonArgs(node: NodeHandle, kubeconfig: string, mode: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${node.name}`,
    `--mode=${mode}`,
    // The Nodes' podCIDRs: a --cluster-cidr of 198.18.0.0/16 would also cover the LAN, so the
    // external client would count as a pod and externalTrafficPolicy Local would not show.
    '--detect-local-mode=NodeCIDR',
    `--metrics-bind-address=${METRICS}`,
    '--healthz-bind-address=0.0.0.0:10256',
    '--iptables-min-sync-period=100ms',
    // The conntrack table size is global to the host: the demo never touches it.
    '--conntrack-max-per-core=0',
    '--logging-format=json',
    '-v=2',
  ];
}

async function cli(ns: string, args: readonly string[]): Promise<string> {
  const r = await nsExec(ns, [process.execPath, DEFAULT_DAEMON_ENTRY, ...args, `--metrics-address=${METRICS}`], { timeoutMs: 30_000 });
  return (r.stdout + r.stderr).trimEnd();
}

interface Traffic {
  readonly child: ChildProcess;
  /** Resolves with the first result: node has started and requests are flowing. */
  readonly flowing: Promise<void>;
}

function startTraffic(ns: string, from: Source, counts: SecondCounts): Traffic | undefined {
  const indices = PROBES.map((p, i) => (p.from === from ? i : -1)).filter((i) => i >= 0);
  if (indices.length === 0) return undefined;
  const spec: TrafficSpec = {
    targets: indices.map((i) => {
      const p = PROBES[i];
      if (!p) throw new Error(`no probe ${i}`);
      return { ip: p.ip, port: p.port, protocol: p.protocol };
    }),
    intervalMs: 100,
    timeoutMs: 800,
  };
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, TRAFFIC_ENTRY, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child, ns);
  let flowed: () => void = () => undefined;
  const flowing = new Promise<void>((res) => (flowed = res));
  child.once('exit', () => flowed());
  createInterface({ input: child.stdout }).on('line', (line) => {
    flowed();
    try {
      const r = JSON.parse(line) as TrafficResult;
      const i = indices[r.i];
      if (i !== undefined) counts.add({ ...r, i });
    } catch {
      // Not a result line.
    }
  });
  return { child, flowing };
}

async function setUp(r: Running, opts: DemoOptions): Promise<Started> {
  const swept = await sweepStale(`kpt${DEMO_TAG}`);
  if (swept.length > 0) info(`demo: removed ${swept.length} namespaces left by a killed demo (${swept.join(' ')})`);
  const cluster = (r.cluster = await createCluster({ prefixTag: DEMO_TAG, nodeNames: NODE_NAMES }));
  const api = (r.api = await TestApiServer.start({ unixSocket: join(r.dir, 'api.sock') }));
  for (const o of initialObjects()) api.create(o);
  json({ event: 'cluster', prefix: cluster.prefix, namespaces: cluster.namespaces, mode: opts.mode });
  info(`demo: namespaces ${cluster.namespaces.join(' ')}`);

  for (const node of [cluster.nodes.a, cluster.nodes.b]) {
    const bridge = await apiserverBridge(node.ns, join(r.dir, 'api.sock'));
    r.bridges.push(bridge);
    const kubeconfig = join(r.dir, `kubeconfig-${node.name}`);
    writeFileSync(kubeconfig, kubeconfigFor(api, { url: bridge.url }));
    r.daemons.push(startDaemon(node.ns, daemonArgs(node, kubeconfig, opts.mode), { logFile: join(r.dir, `${node.name}.log`) }));
  }
  info(`demo: kube-proxy-ts --mode=${opts.mode} started in ${cluster.nodes.a.ns} (${NODE_NAMES.a}) and ${cluster.nodes.b.ns} (${NODE_NAMES.b}), waiting for the first sync`);
  await Promise.all(r.daemons.map((d) => d.waitForLog(/synced proxy rules/, 60_000)));
  return { ...r, cluster, api };
}

async function showOnce(r: Started, opts: DemoOptions): Promise<void> {
  const a = r.cluster.nodes.a;
  const web = PROBES[0];
  if (!web) return;
  const [explain, trace] = await Promise.all([
    cli(a.ns, ['explain', web.service]),
    cli(a.ns, ['trace', '--src', r.cluster.client.ipv4, '--dst', `${web.ip}:${web.port}/${web.protocol.toLowerCase()}`]),
  ]);
  const inNs = `ip netns exec ${a.ns}`;
  const proxyCli = `${inNs} node dist/proxy/main.js`;
  info(
    [
      '',
      `$ ${proxyCli} explain ${web.service}`,
      explain,
      '',
      `$ ${proxyCli} trace --src ${r.cluster.client.ipv4} --dst ${web.ip}:${web.port}/${web.protocol.toLowerCase()}`,
      trace,
      '',
      'While it runs (every node has its own; node B is ' + r.cluster.nodes.b.ns + '):',
      `  metrics       ${inNs} curl -s http://${METRICS}/metrics`,
      `  model         ${inNs} curl -s http://${METRICS}/debug/state`,
      `  rules         ${inNs} ${opts.mode === 'nftables' ? 'nft list ruleset' : 'iptables-save -t nat'}`,
      `  daemon logs   ${join(r.dir, `${NODE_NAMES.a}.log`)}, ${join(r.dir, `${NODE_NAMES.b}.log`)}`,
      '',
    ].join('\n'),
  );
  json({ event: 'explain', text: explain });
  json({ event: 'trace', text: trace });
}

const visibleLength = (s: string): number => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').length;

async function runTraffic(r: Started, opts: DemoOptions, stop: Promise<void>): Promise<void> {
  const counts = new SecondCounts(PROBES.length);
  const flowing: Promise<void>[] = [];
  for (const [ns, from] of [
    [r.cluster.client.ns, 'client'],
    [r.cluster.external.ns, 'external'],
  ] as const) {
    const t = startTraffic(ns, from, counts);
    if (t) {
      r.traffic.push(t.child);
      flowing.push(t.flowing);
    }
  }
  // Second 1 starts when requests flow, not while node is still starting in the client namespaces.
  await Promise.race([Promise.all(flowing), stop, new Promise((res) => setTimeout(res, 10_000))]);
  counts.take();
  let scaledUp = false;
  let second = 0;
  let drawn = 0;
  const events: string[] = [];
  const color = process.env['NO_COLOR'] === undefined;

  const frame = (): Frame => {
    const taken = counts.take();
    const rows: Row[] = PROBES.map((p, i) => ({
      probe: p,
      endpoints: endpointPods(p.service, scaledUp),
      answered: taken.answered[i] ?? {},
      errors: taken.errors[i] ?? {},
    }));
    return { second, mode: opts.mode, rows, events };
  };

  const draw = (f: Frame): void => {
    if (opts.output === 'json') {
      process.stdout.write(renderJson(f) + '\n');
    } else if (opts.output === 'plain') {
      process.stdout.write(renderPlain(f).join('\n') + '\n');
    } else {
      const lines = renderTable(f, { color });
      const cols = process.stdout.columns || 200;
      // Move to the first line of the previous frame and clear from there down, so the table
      // redraws in place (wrapped lines take more than one row).
      const up = drawn > 0 ? `\x1b[${drawn}F\x1b[J` : '';
      process.stdout.write(up + lines.join('\n') + '\n');
      drawn = lines.reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / cols)), 0);
    }
  };

  const scale = (): void => {
    scaledUp = !scaledUp;
    r.api.update(webSlice(scaledUp));
    const pods = endpointPods('default/web', scaledUp);
    const text = `[${second}s] default/web scaled ${scaledUp ? 'up' : 'down'}: ${scaledUp ? '+' : '-'}${SCALED_POD} → endpoints ${pods.join(' ')}`;
    events.push(text);
    if (opts.output === 'plain') process.stdout.write(text + '\n');
    json({ event: 'scaled', second, service: 'default/web', endpoints: pods });
  };

  let stopped = false;
  void stop.then(() => (stopped = true));
  const started = Date.now();
  while (!stopped) {
    // Tick on whole seconds since the start, not "1 s after the last draw", so the windows do not drift.
    const next = started + (second + 1) * 1000;
    await Promise.race([stop, new Promise((res) => setTimeout(res, Math.max(0, next - Date.now())))]);
    if (stopped) break;
    second++;
    draw(frame());
    if (opts.seconds !== undefined && second >= opts.seconds) break;
    if (second % opts.scaleEvery === 0) scale();
  }
}

async function tearDown(r: Running): Promise<void> {
  await Promise.all(r.traffic.map((c) => stopChild(c, 1_000)));
  await Promise.all(r.daemons.map((d) => d.stop(5_000)));
  await Promise.all(r.bridges.map((b) => b.stop()));
  await r.api?.close();
  await r.cluster?.destroy();
  rmSync(r.dir, { recursive: true, force: true });
}

async function main(): Promise<number> {
  let opts: DemoOptions;
  try {
    opts = parseDemoArgs(process.argv.slice(2), process.env, process.stdout.isTTY === true);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!isRoot()) {
    process.stderr.write('demo: the live demo needs root (network namespaces, iptables); scripts/demo.sh runs the noop demo instead\n');
    return 1;
  }
  if (opts.output === 'json') {
    info = (t) => process.stderr.write(t + '\n');
    json = (v) => process.stdout.write(JSON.stringify(v) + '\n');
  }

  // Registered before the harness's own handlers (installed by createCluster), so this one runs
  // first and only asks the loop to stop; the harness's then kills and deletes synchronously, and
  // a second Ctrl-C exits at once.
  let requestStop: () => void = () => undefined;
  const stop = new Promise<void>((res) => (requestStop = res));
  let signals = 0;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (++signals > 1) process.exit(130);
      requestStop();
    });
  }

  const running: Running = { bridges: [], daemons: [], traffic: [], dir: mkdtempSync(join(tmpdir(), 'kpt-demo-')) };
  process.once('exit', () => rmSync(running.dir, { recursive: true, force: true }));
  let code = 0;
  try {
    // Set-up runs to its end even after Ctrl-C (the harness has already killed what it started),
    // so that whatever it created is known to tearDown below.
    const started = await setUp(running, opts);
    if (signals === 0) {
      await showOnce(started, opts);
      await runTraffic(started, opts, stop);
    }
  } catch (e) {
    if (signals === 0) {
      process.stderr.write(`demo: ${(e as Error).message}\n`);
      code = 1;
    }
  } finally {
    info('demo: stopping: every process and namespace of the demo goes away');
    await tearDown(running);
    json({ event: 'stopped' });
  }
  return code;
}

process.exitCode = await main();
// The apiserver's keep-alive sockets and stdin would keep the loop alive; everything is torn down.
process.exit();
