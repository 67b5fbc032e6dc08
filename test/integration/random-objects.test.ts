// Property-based: thousands of random, partly invalid Services and EndpointSlices go through the
// path the daemon uses (ModelStore: record, snapshot, categorize) and a full iptables sync (render,
// plan, payload), then every rendered ruleset goes to the real iptables-nft in a throw-away
// network namespace. Properties:
//   - no exception escapes the model or the dataplane;
//   - every invalid field is reported in a rejection naming the object (kind, namespace, name)
//     and the field path; an object with no invalid field is not rejected;
//   - every valid service port is in the model and renders (its cluster IP is matched in
//     KUBE-SERVICES in each of its families; every ready endpoint of a plain Cluster-policy
//     port is a DNAT target);
//   - names, including names the API would reject, never break out of a rule comment;
//   - `iptables-restore --test` accepts every ruleset, and so does a real restore (--test of
//     iptables-nft only parses; a real restore also makes the kernel check chain references).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIptablesDataplane } from '../../modes/iptables/dataplane.js';
import type { IptablesRunner } from '../../modes/iptables/runner.js';
import { tokenize } from '../../modes/iptables/save-parse.js';
import { exec } from '../../modes/shared/exec.js';
import { silentLogger } from '../../proxy/log.js';
import { ModelStore } from '../../proxy/model/store.js';
import type { IPFamily, ProxyState, RejectedObject } from '../../proxy/model/types.js';
import { ProxyMetrics } from '../../sync/metrics.js';
import { deleteNamespaceSync } from '../e2e/harness/ns.js';
import { requireRoot } from '../e2e/harness/root.js';
import { config, NODE_IP, recordingConntrack } from '../unit/iptables/fixtures.js';
import { buildService, MARKER, serviceChoice, type Expected, type ExpectedService } from './random-objects.arbitraries.js';

const RUNS = 250;
const NS = `rnd${process.pid.toString(36)}`;
const FAMILIES: IPFamily[] = ['IPv4', 'IPv6'];

/** Records what a full sync would restore; the kernel it reads is empty (a fresh node). */
class CapturingRunner implements IptablesRunner {
  readonly backend = 'nft' as const;
  readonly payloads: Record<IPFamily, string[]> = { IPv4: [], IPv6: [] };
  async restore(family: IPFamily, payload: string): Promise<void> {
    this.payloads[family].push(payload);
  }
  async restoreEach(family: IPFamily, payloads: Iterable<string>): Promise<void> {
    for (const p of payloads) this.payloads[family].push(p);
  }
  async save(): Promise<string> {
    return '';
  }
  async listChain(): Promise<undefined> {
    return undefined;
  }
}

interface RunResult {
  readonly payloads: Record<IPFamily, string>;
  readonly state: ProxyState;
  readonly rejections: readonly RejectedObject[];
}

async function modelAndRender(services: readonly ExpectedService[]): Promise<RunResult> {
  const store = new ModelStore({ nodeName: 'node-a' });
  for (const s of services) {
    store.upsertService(s.object);
    for (const sl of s.slices) store.upsertEndpointSlice(sl.object);
  }
  const { state, changes } = store.snapshot();
  const runner = new CapturingRunner();
  const dp = createIptablesDataplane({
    config: config(),
    runner,
    conntrack: recordingConntrack().ct,
    metrics: new ProxyMetrics({ processMetrics: false }),
    logger: silentLogger,
    families: FAMILIES,
    nodeIPs: () => [NODE_IP],
    localAddresses: () => [NODE_IP, '127.0.0.1'],
    // One transaction per family, so each ruleset is one self-contained restore payload.
    chainBudget: Number.MAX_SAFE_INTEGER,
  });
  await dp.sync({ state, changes, full: true });
  return {
    payloads: { IPv4: runner.payloads.IPv4.join(''), IPv6: runner.payloads.IPv6.join('') },
    state,
    rejections: store.rejections(),
  };
}

function checkRejections(expected: readonly Expected<unknown>[], rejections: readonly RejectedObject[]): void {
  const byObject = new Map(rejections.map((r) => [`${r.kind}|${r.namespace}|${r.name}`, r]));
  for (const e of expected) {
    const r = byObject.get(`${e.kind}|${e.namespace}|${e.name}`);
    const what = `${e.kind} ${JSON.stringify(`${e.namespace}/${e.name}`)}`;
    if (e.invalidFields.length === 0) {
      expect(r, `${what} has no invalid field but was rejected: ${JSON.stringify(r?.errors)}`).toBeUndefined();
      continue;
    }
    expect(r, `${what} must be rejected for ${e.invalidFields.join(', ')}`).toBeDefined();
    const reported = new Set(r?.errors.map((x) => x.field));
    for (const f of e.invalidFields) {
      expect(reported.has(f), `${what}: field ${f} not reported (reported: ${[...reported].join(', ')})`).toBe(true);
    }
    for (const x of r?.errors ?? []) expect(x.message.length, `${what} ${x.field} has an empty message`).toBeGreaterThan(0);
  }
}

function checkModelPorts(services: readonly ExpectedService[], state: ProxyState): void {
  const want = new Set(services.flatMap((s) => s.ports.map((p) => p.key)));
  expect([...state.services.keys()].sort()).toEqual([...want].sort());
  for (const s of services) {
    for (const p of s.ports) {
      const sp = state.services.get(p.key);
      expect(sp?.port).toBe(p.port);
      expect(sp?.protocol).toBe(p.protocol);
      expect(sp?.clusterIPs).toEqual(s.clusterIPs);
    }
  }
}

/** Every line of a payload; rule lines are checked for comment break-outs. */
function checkComments(payload: string): void {
  for (const line of payload.split('\n')) {
    if (line === '') continue;
    // A hostile name that escaped its comment would start a line of its own or sit outside the
    // comment token; tokenize() follows iptables-restore's quoting.
    expect(/^(\*\w+|:[A-Z][\w-]* \S+ \[0:0\]|COMMIT|-[ADIX] \S+( .*)?)$/.test(line), `line shape: ${JSON.stringify(line)}`).toBe(true);
    const tokens = tokenize(line);
    tokens.forEach((t, i) => {
      if (!t.includes(MARKER)) return;
      expect(tokens[i - 1], `${JSON.stringify(t)} outside a comment in ${JSON.stringify(line)}`).toBe('--comment');
      expect(/^[\x20-\x7e]*$/.test(t) && !/["'\\`]/.test(t), `comment not sanitized: ${JSON.stringify(t)}`).toBe(true);
      expect(Buffer.byteLength(t)).toBeLessThan(256);
    });
  }
}

function checkRendered(state: ProxyState, payloads: Record<IPFamily, string>): void {
  for (const sp of state.services.values()) {
    for (const ip of sp.clusterIPs) {
      const family: IPFamily = ip.includes(':') ? 'IPv6' : 'IPv4';
      const match = `-d ${ip} --dport ${sp.port}`;
      const lines = payloads[family].split('\n').filter((l) => /^-A KUBE-SERVICES /.test(l) && l.includes(match));
      expect(lines.length, `${JSON.stringify(sp.key)} ${ip}:${sp.port} not matched in ${family} KUBE-SERVICES`).toBeGreaterThan(0);
      const eps = (state.endpoints.get(sp.key) ?? []).filter((e) => e.family === family);
      const plain =
        sp.internalTrafficPolicy === 'Cluster' && eps.every((e) => e.zoneHints.length === 0 && e.nodeHints.length === 0);
      if (!plain) continue;
      for (const e of eps.filter((x) => x.ready)) {
        const dest = family === 'IPv6' ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
        expect(payloads[family], `${JSON.stringify(sp.key)}: ready endpoint ${dest} not DNATed`).toContain(`--to-destination ${dest}\n`);
      }
    }
  }
}

const inNs = (argv: readonly string[], input: string) => exec(['ip', 'netns', 'exec', NS, ...argv], { input, timeoutMs: 120_000 });

/** Runs the rulesets through `argv` in batches; on failure names the run and shows its payload. */
async function restoreAll(argv: readonly string[], rulesets: readonly string[], batch: number): Promise<number> {
  let checked = 0;
  for (let start = 0; start < rulesets.length; start += batch) {
    const part = rulesets.slice(start, start + batch);
    const input = part.join('');
    const r = await inNs(argv, input);
    if (r.code !== 0) {
      const line = Number(/line:? (\d+)/.exec(r.stderr)?.[1] ?? 0);
      let at = 0;
      let culprit = -1;
      for (let k = 0; k < part.length && culprit < 0; k++) {
        at += (part[k] as string).split('\n').length - 1;
        if (line <= at) culprit = k;
      }
      const bad = part[culprit] ?? '';
      const badLine = input.split('\n')[line - 1];
      throw new Error(`${argv.join(' ')} rejected ruleset ${start + culprit}: ${r.stderr.trim()}\nline ${line}: ${badLine}\n${bad.slice(0, 4000)}`);
    }
    checked += part.length;
  }
  return checked;
}

describe.skipIf(!requireRoot())('random Services and EndpointSlices through model, rendering and iptables-restore', () => {
  const rulesets: Record<IPFamily, string[]> = { IPv4: [], IPv6: [] };
  let objects = 0;
  let invalidFields = 0;
  let hostileNames = 0;

  beforeAll(async () => {
    deleteNamespaceSync(NS);
    const r = await exec(['ip', 'netns', 'add', NS]);
    if (r.code !== 0) throw new Error(`ip netns add ${NS}: ${r.stderr}`);
  });

  afterAll(() => {
    deleteNamespaceSync(NS);
  });

  it('model and rendering: no exception, every invalid field reported, every valid port rendered, comments hold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(serviceChoice, { minLength: 1, maxLength: 6 }), async (choices) => {
        const services = choices.map((c, i) => buildService(c, i));
        const result = await modelAndRender(services);
        checkRejections(
          services.flatMap((s) => [s, ...(s.ports.length > 0 ? s.slices : [])]),
          result.rejections,
        );
        checkModelPorts(services, result.state);
        for (const f of FAMILIES) checkComments(result.payloads[f]);
        checkRendered(result.state, result.payloads);
        for (const f of FAMILIES) rulesets[f].push(result.payloads[f]);
        objects += services.length + services.reduce((n, s) => n + s.slices.length, 0);
        invalidFields += services.reduce((n, s) => n + s.invalidFields.length + s.slices.reduce((m, x) => m + x.invalidFields.length, 0), 0);
        hostileNames += services.filter((s) => s.name.includes(MARKER) || s.namespace.includes(MARKER)).length;
      }),
      { numRuns: RUNS },
    );
    const dnat = FAMILIES.map((f) => rulesets[f].filter((p) => p.includes('-j DNAT')).length);
    process.stdout.write(
      `random-objects: ${RUNS} runs, ${objects} objects, ${invalidFields} invalid fields, ${hostileNames} hostile names; rulesets with DNAT rules v4/v6 ${dnat.join('/')}\n`,
    );
    // The generators must really produce what the properties are about (typical: ~2000 objects,
    // ~1000 invalid fields, ~500 hostile names, DNAT in ~65/~45 rulesets).
    expect(objects).toBeGreaterThan(1500);
    expect(invalidFields).toBeGreaterThan(500);
    expect(hostileNames).toBeGreaterThan(100);
    expect(dnat[0]).toBeGreaterThan(RUNS / 6);
    expect(dnat[1]).toBeGreaterThan(RUNS / 12);
  });

  it('iptables-restore --test accepts every rendered ruleset, and the kernel accepts each one restored for real', async () => {
    expect(rulesets.IPv4.length).toBe(RUNS);
    for (const f of FAMILIES) {
      const tool = f === 'IPv4' ? 'iptables-nft-restore' : 'ip6tables-nft-restore';
      expect(await restoreAll([tool, '--noflush', '--test'], rulesets[f], 50)).toBe(RUNS);
      // Without --noflush each ruleset's "*table" starts from an empty table, so one run of the
      // tool applies many fresh rulesets in turn, each a real kernel transaction.
      expect(await restoreAll([tool], rulesets[f], 50)).toBe(RUNS);
    }
  });
});
