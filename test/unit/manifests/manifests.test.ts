// manifests/, Dockerfile and docs/deploy.md: every YAML document parses and is valid against the
// Kubernetes schemas, and the DaemonSet really runs kube-proxy-ts the way the project expects (its
// args and ConfigMap load with our own config loader, probes hit the health server, RBAC is exactly
// system:node-proxier's, the Grafana dashboard only queries metrics we export).

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../../../sync/metrics.js';
import {
  EXPECTED_GRANTS,
  checkDaemonSet,
  dashboardExprs,
  grants,
  loadDaemonSetConfig,
  theContainer,
  theDaemonSet,
  unknownMetrics,
  type DaemonSetExpectations,
} from './checks.js';
import { at, isObj, readKustomization, readYamlDocs, render, type Obj } from './render.js';
import { schemaErrors, unknownFields } from './schema.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MANIFESTS = join(ROOT, 'manifests');

function walkFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walkFiles(p) : [p];
  });
}

const yamlFiles = walkFiles(MANIFESTS).filter((f) => /\.ya?ml$/.test(f));
const kustomizationDirs = yamlFiles.filter((f) => f.endsWith('/kustomization.yaml')).map(dirname);

const OVERLAYS: Record<string, DaemonSetExpectations> = {
  'overlays/iptables': { mode: 'iptables', privileged: true },
  'overlays/ipvs': { mode: 'ipvs', privileged: true },
  'overlays/userspace': { mode: 'userspace', privileged: false },
  'overlays/canary': { mode: 'iptables', privileged: true, nodeSelector: { 'kube-proxy-ts': 'enabled' } },
};

const renderOk = (rel: string): Obj[] => {
  const r = render(join(MANIFESTS, rel), ROOT);
  expect(r.errors).toEqual([]);
  return r.objects;
};

const clone = <T>(v: T): T => structuredClone(v);

describe('manifests: files', () => {
  it('finds the kustomizations', () => {
    const rel = kustomizationDirs.map((d) => relative(MANIFESTS, d)).sort();
    expect(rel).toEqual(['base', 'monitoring', ...Object.keys(OVERLAYS)].sort());
  });

  it('parses every YAML document under manifests/', () => {
    expect(yamlFiles.length).toBeGreaterThan(10);
    for (const f of yamlFiles) {
      const docs = readYamlDocs(f);
      expect(docs.length, relative(ROOT, f)).toBeGreaterThan(0);
      for (const d of docs) {
        expect(typeof d.value['apiVersion'], `${relative(ROOT, f)}#${d.index}`).toBe('string');
        expect(typeof d.value['kind'], `${relative(ROOT, f)}#${d.index}`).toBe('string');
      }
    }
  });

  it('uses every YAML file from some kustomization (no orphans) and every referenced file exists', () => {
    const used = new Set<string>();
    for (const dir of kustomizationDirs) {
      const r = render(dir, ROOT);
      expect(r.errors, relative(ROOT, dir)).toEqual([]);
      for (const f of r.files) used.add(f);
    }
    expect(yamlFiles.map((f) => relative(ROOT, f)).filter((f) => !used.has(f))).toEqual([]);
  });

  it('overlays patch only objects their bases define', () => {
    for (const dir of kustomizationDirs) {
      const k = readKustomization(dir);
      if (k.patches.length === 0) continue;
      const r = render(dir, ROOT);
      expect(r.errors.filter((e) => e.includes('matches no object')), relative(ROOT, dir)).toEqual([]);
    }
  });

  it('reports a patch that matches no object', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpt-manifests-'));
    try {
      writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
      writeFileSync(join(dir, 'patch.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  x: "1"\n');
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\n  - missing.yaml\npatches:\n  - path: patch.yaml\n',
      );
      const r = render(dir, dir);
      expect(r.errors).toHaveLength(2);
      expect(r.errors.join('\n')).toMatch(/missing\.yaml does not exist/);
      expect(r.errors.join('\n')).toMatch(/ConfigMap\/\/b matches no object/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('manifests: Kubernetes schemas', () => {
  for (const rel of [...Object.keys(OVERLAYS), 'monitoring']) {
    it(`${rel}: every rendered object is valid (kubernetes-models)`, async () => {
      for (const o of renderOk(rel)) {
        expect(await schemaErrors(o), `${rel}: ${String(o['kind'])} ${String(at(o, 'metadata.name'))}`).toEqual([]);
      }
    });

    it(`${rel}: no field unknown to the Kubernetes API`, () => {
      for (const o of renderOk(rel)) expect(unknownFields(o), `${rel}: ${String(o['kind'])}`).toEqual([]);
    });
  }

  it('the validators reject a broken DaemonSet and a broken ServiceMonitor', async () => {
    const objects = renderOk('overlays/iptables');
    const ds = clone(theDaemonSet(objects));
    const c = theContainer(ds);
    (c['ports'] as Obj[])[0]!['containerPort'] = '10256';
    expect((await schemaErrors(ds)).join()).toMatch(/containerPort/);
    c['livenesProbe'] = c['livenessProbe'];
    expect(unknownFields(ds)).toEqual(['DaemonSet.spec.template.spec.containers[0].livenesProbe']);

    const sm = clone(renderOk('monitoring').find((o) => o['kind'] === 'ServiceMonitor')!);
    (at(sm, 'spec.endpoints') as Obj[])[0]!['interval'] = 'thirty seconds';
    expect((await schemaErrors(sm)).join()).toMatch(/interval/);
  });
});

describe('manifests: the DaemonSet runs kube-proxy-ts as intended', () => {
  for (const [rel, want] of Object.entries(OVERLAYS)) {
    it(`${rel}: ${want.mode} mode, ${want.privileged ? 'privileged' : 'unprivileged'}`, () => {
      expect(checkDaemonSet(renderOk(rel), want)).toEqual([]);
    });
  }

  it('the args and config.conf load with our config loader', () => {
    const { loaded, errors } = loadDaemonSetConfig(renderOk('overlays/ipvs'));
    expect(errors).toEqual([]);
    expect(loaded?.config.mode).toBe('ipvs');
    expect(loaded?.config.healthzBindAddress).toBe('0.0.0.0:10256');
    expect(loaded?.config.metricsBindAddress).toBe('0.0.0.0:10249');
  });

  it('catches a wrong probe, an undefined $(VAR), a bad config value and a missing toleration', () => {
    const base = renderOk('overlays/iptables');
    const broken = clone(base);
    const ds = theDaemonSet(broken);
    const c = theContainer(ds);
    (c['livenessProbe'] as Obj)['httpGet'] = { path: '/healthz', port: 10249 };
    (at(ds, 'spec.template.spec') as Obj)['tolerations'] = [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }];
    const errors = checkDaemonSet(broken, OVERLAYS['overlays/iptables']!).join('\n');
    expect(errors).toMatch(/livenessProbe must GET \/livez/);
    expect(errors).toMatch(/livenessProbe port 10249 is not the healthz port 10256/);
    expect(errors).toMatch(/toleration/);

    const undefinedVar = clone(base);
    (theContainer(theDaemonSet(undefinedVar))['args'] as string[]).push('--cluster-cidr=$(POD_CIDR)');
    const varErrors = checkDaemonSet(undefinedVar, OVERLAYS['overlays/iptables']!).join('\n');
    expect(varErrors).toMatch(/\$\(POD_CIDR\) is not an env var/);
    expect(varErrors).toMatch(/loadConfig: .*--cluster-cidr/);

    const badConfig = clone(base);
    const cm = badConfig.find((o) => o['kind'] === 'ConfigMap')!;
    (cm['data'] as Obj)['config.conf'] = String((cm['data'] as Obj)['config.conf']).replace('syncPeriod: 30s', 'syncPeriod: 30 seconds');
    expect(checkDaemonSet(badConfig, OVERLAYS['overlays/iptables']!).join('\n')).toMatch(/loadConfig: .*iptables\.syncPeriod/);

    const typo = clone(base);
    const cm2 = typo.find((o) => o['kind'] === 'ConfigMap')!;
    (cm2['data'] as Obj)['config.conf'] = String((cm2['data'] as Obj)['config.conf']).replace('mode: iptables', 'mode: iptables\nmasqueradAll: true');
    expect(checkDaemonSet(typo, OVERLAYS['overlays/iptables']!).join('\n')).toMatch(/unknown field "masqueradAll"/);
  });

  it('overlays differ from the base config.conf only in mode', () => {
    const baseConf = String(at(renderOk('overlays/iptables').find((o) => o['kind'] === 'ConfigMap'), 'data.config.conf'));
    const baseCm = readYamlDocs(join(MANIFESTS, 'base/configmap.yaml'))[0]!.value;
    expect(String(at(baseCm, 'data.config.conf'))).toBe(baseConf);
    for (const [rel, want] of Object.entries(OVERLAYS)) {
      const conf = String(at(renderOk(rel).find((o) => o['kind'] === 'ConfigMap'), 'data.config.conf'));
      expect(conf, rel).toBe(baseConf.replace(/^mode: iptables$/m, `mode: ${want.mode}`));
    }
  });

  it('the ClusterRole grants exactly what system:node-proxier does (events: create, patch)', () => {
    for (const rel of Object.keys(OVERLAYS)) {
      const roles = renderOk(rel).filter((o) => o['kind'] === 'ClusterRole' || o['kind'] === 'Role');
      expect(roles, rel).toHaveLength(1);
      expect(grants(roles[0]), rel).toEqual(EXPECTED_GRANTS);
    }
    const role = clone(renderOk('overlays/iptables').find((o) => o['kind'] === 'ClusterRole')!);
    ((role['rules'] as Obj[])[0]!['verbs'] as string[]).push('get');
    expect(grants(role)).not.toEqual(EXPECTED_GRANTS);
  });

  it('the ServiceMonitor selects the metrics Service by its labels and port name', () => {
    const sm = renderOk('monitoring').find((o) => o['kind'] === 'ServiceMonitor')!;
    const svc = renderOk('overlays/iptables').find((o) => o['kind'] === 'Service')!;
    const labels = at(svc, 'metadata.labels') as Obj;
    const want = at(sm, 'spec.selector.matchLabels') as Obj;
    expect(Object.entries(want).every(([k, v]) => labels[k] === v)).toBe(true);
    expect(at(sm, 'spec.namespaceSelector.matchNames')).toContain(at(svc, 'metadata.namespace'));
    const portNames = (at(svc, 'spec.ports') as Obj[]).map((p) => p['name']);
    for (const ep of at(sm, 'spec.endpoints') as Obj[]) expect(portNames).toContain(ep['port']);
  });
});

describe('manifests: Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(MANIFESTS, 'grafana-dashboard.json'), 'utf8')) as Obj;

  const registered = async (): Promise<Map<string, string>> => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    const json = await metrics.registry.getMetricsAsJSON();
    return new Map(json.map((m) => [m.name, String(m.type)]));
  };

  it('only queries metrics that sync/metrics.ts registers', async () => {
    const names = await registered();
    const exprs = dashboardExprs(dashboard);
    expect(exprs.length).toBeGreaterThan(10);
    expect(exprs.flatMap((e) => unknownMetrics(e, names))).toEqual([]);
    // A query of a name we do not export, or a histogram suffix on a counter, is caught.
    expect(unknownMetrics('rate(kubeproxy_sync_rules_total[5m]) + kubeproxy_proxy_healthz_total_bucket', names)).toEqual([
      'kubeproxy_sync_rules_total',
      'kubeproxy_proxy_healthz_total_bucket',
    ]);
  });

  it('covers sync latency, programming latency, freshness, pending changes, failures, health and rejections', () => {
    const all = dashboardExprs(dashboard).join('\n');
    for (const needle of [
      'histogram_quantile(0.5, sum by (le, instance) (rate(kubeproxy_sync_proxy_rules_duration_seconds_bucket',
      'histogram_quantile(0.99, sum by (le, instance) (rate(kubeproxy_sync_proxy_rules_duration_seconds_bucket',
      'kubeproxy_sync_full_proxy_rules_duration_seconds_bucket',
      'kubeproxy_sync_partial_proxy_rules_duration_seconds_bucket',
      'kubeproxy_network_programming_duration_seconds_bucket',
      'time() - max by (instance) (kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_service_changes_pending',
      'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
      'kubeproxy_proxy_healthz_total',
      'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      'kubeproxy_ts_rejected_objects_total',
    ]) {
      expect(all).toContain(needle);
    }
  });

  it('is a well-formed dashboard with unique panel ids and a Prometheus data source variable', () => {
    const ids = (dashboard['panels'] as Obj[]).map((p) => p['id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard['uid']).toBe('kube-proxy-ts');
    const vars = at(dashboard, 'templating.list') as Obj[];
    expect(vars.find((v) => v['name'] === 'datasource')?.['query']).toBe('prometheus');
    for (const p of dashboard['panels'] as Obj[]) {
      if (p['type'] === 'row') continue;
      expect(at(p, 'datasource.uid'), String(p['title'])).toBe('${datasource}');
      expect(isObj(p['gridPos']), String(p['title'])).toBe(true);
    }
  });
});

describe('Dockerfile, .dockerignore and docs/deploy.md', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

  it('runs the compiled daemon as the entrypoint, as root, on a bookworm image with the dataplane tools', () => {
    const lines = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#'));
    const stages = lines.filter((l) => /^FROM\s/i.test(l));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const last = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    // Node/V8 flags before the script are allowed (--optimize-for-size bounds heap growth).
    expect(last).toMatch(/^ENTRYPOINT \["node", ?(?:"--[\w-]+(?:=[\w-]+)?", ?)*"\/app\/dist\/proxy\/main\.js"\]$/m);
    expect(last).not.toMatch(/^USER /m);
    for (const pkg of ['iptables', 'ipset', 'ipvsadm', 'conntrack', 'iproute2']) expect(dockerfile).toMatch(new RegExp(`\\b${pkg}\\b`));
    expect(dockerfile).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/npx tsc -p tsconfig\.json/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });

  it('.dockerignore lets in every source directory tsconfig compiles', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignore[0] === '*' || ignore.includes('*')).toBe(true);
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const dirs = tsconfig.include.map((p) => p.split('/')[0]!);
    for (const d of dirs) expect(ignore, d).toContain(`!${d}`);
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json']) expect(ignore).toContain(`!${f}`);
  });

  it('docs/deploy.md applies only kustomizations that exist', () => {
    const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    const paths = [...doc.matchAll(/kubectl (?:apply|delete|kustomize)(?: [^\n]*?)? -k ([\w./-]+)/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(3);
    for (const p of paths) expect(existsSync(join(ROOT, p, 'kustomization.yaml')), p).toBe(true);
    for (const rel of Object.keys(OVERLAYS)) expect(paths).toContain(`manifests/${rel}`);
  });

  it("the README's Deploy section uses exactly the commands of docs/deploy.md, on kustomizations that exist", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const deploy = readme.slice(readme.indexOf('## Deploy'), readme.indexOf('\n## ', readme.indexOf('## Deploy') + 1));
    const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    const commands = deploy.split('\n').filter((l) => l.startsWith('kubectl ')).map((l) => l.replace(/\s+#.*$/, ''));
    expect(commands.length).toBeGreaterThan(3);
    for (const c of commands) {
      expect(doc, c).toContain(c);
      const k = / -k ([\w./-]+)/.exec(c);
      if (k) expect(existsSync(join(ROOT, k[1]!, 'kustomization.yaml')), c).toBe(true);
    }
  });
});
