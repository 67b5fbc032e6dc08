// Project checks on rendered manifests. Each returns a list of problems (empty = fine) so the tests
// can both assert the real manifests are clean and show that a broken variant is caught.

import { loadConfig, type LoadedConfig } from '../../../proxy/config/load.js';
import { splitHostPort } from '../../../proxy/config/values.js';
import { at, isObj, podSpec, type Obj } from './render.js';

export const NODE_NAME = 'node-a.example';

const find = (objects: Obj[], kind: string, name?: string): Obj | undefined =>
  objects.find((o) => o['kind'] === kind && (name === undefined || at(o, 'metadata.name') === name));

const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

export function theDaemonSet(objects: Obj[]): Obj {
  const all = objects.filter((o) => o['kind'] === 'DaemonSet');
  if (all.length !== 1) throw new Error(`expected exactly one DaemonSet, found ${all.length}`);
  return all[0]!;
}

export function theContainer(ds: Obj): Obj {
  const cs = list(podSpec(ds)?.['containers']);
  if (cs.length !== 1) throw new Error(`expected exactly one container, found ${cs.length}`);
  return cs[0]!;
}

/** Expand $(VAR) in container args the way the kubelet does, with NODE_NAME from the downward API. */
export function expandArgs(container: Obj): { args: string[]; errors: string[] } {
  const errors: string[] = [];
  const env = new Map<string, string>();
  for (const e of list(container['env'])) {
    const name = String(e['name']);
    if (typeof e['value'] === 'string') env.set(name, e['value']);
    else if (at(e, 'valueFrom.fieldRef.fieldPath') === 'spec.nodeName') env.set(name, NODE_NAME);
  }
  const raw = container['args'];
  if (!Array.isArray(raw) || !raw.every((a) => typeof a === 'string')) return { args: [], errors: ['container args must be a list of strings'] };
  if (container['command'] !== undefined) errors.push('container must not override the image ENTRYPOINT (command)');
  const args = (raw as string[]).map((a) =>
    a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
      const v = env.get(name);
      if (v === undefined) {
        errors.push(`arg ${a}: $(${name}) is not an env var of the container with a literal value or spec.nodeName`);
        return whole;
      }
      return v;
    }),
  );
  return { args, errors };
}

/** Files the container sees from ConfigMap volumes: mountPath/key -> value. */
export function mountedConfigFiles(objects: Obj[], ds: Obj, container: Obj): Map<string, string> {
  const files = new Map<string, string>();
  const volumes = list(podSpec(ds)?.['volumes']);
  for (const m of list(container['volumeMounts'])) {
    const vol = volumes.find((v) => v['name'] === m['name']);
    const cmName = at(vol, 'configMap.name');
    if (typeof cmName !== 'string') continue;
    const data = at(find(objects, 'ConfigMap', cmName), 'data');
    if (!isObj(data)) continue;
    for (const [key, value] of Object.entries(data)) files.set(`${String(m['mountPath']).replace(/\/$/, '')}/${key}`, String(value));
  }
  return files;
}

/** Run our own flag + config loader on the DaemonSet's args and its mounted ConfigMap. */
export function loadDaemonSetConfig(objects: Obj[]): { loaded?: LoadedConfig; errors: string[] } {
  const ds = theDaemonSet(objects);
  const c = theContainer(ds);
  const { args, errors } = expandArgs(c);
  const files = mountedConfigFiles(objects, ds, c);
  try {
    const loaded = loadConfig(args, (path) => {
      const text = files.get(path);
      if (text === undefined) throw new Error(`${path} is not in any ConfigMap mounted into the container`);
      return text;
    });
    for (const w of loaded.warnings) if (/unknown|deprecated|ignored/i.test(w)) errors.push(`config warning: ${w}`);
    if (loaded.action !== 'run') errors.push(`args make the daemon ${loaded.action} instead of run`);
    return { loaded, errors };
  } catch (err) {
    errors.push(`loadConfig: ${err instanceof Error ? err.message : String(err)}`);
    return { errors };
  }
}

function resolvePort(container: Obj, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  const p = list(container['ports']).find((x) => x['name'] === port);
  return typeof p?.['containerPort'] === 'number' ? p['containerPort'] : undefined;
}

export interface DaemonSetExpectations {
  readonly mode: string;
  /** true: privileged container; false: unprivileged with NET_ADMIN. */
  readonly privileged: boolean;
  /** Extra nodeSelector entries the DaemonSet must have. */
  readonly nodeSelector?: Record<string, string>;
}

export function checkDaemonSet(objects: Obj[], want: DaemonSetExpectations): string[] {
  const errors: string[] = [];
  const ds = theDaemonSet(objects);
  const spec = podSpec(ds) ?? {};
  const c = theContainer(ds);
  const expect = (ok: boolean, msg: string) => void (ok || errors.push(msg));

  expect(at(ds, 'metadata.namespace') === 'kube-system', 'DaemonSet must be in kube-system');
  expect(spec['hostNetwork'] === true, 'hostNetwork must be true');
  expect(spec['priorityClassName'] === 'system-node-critical', 'priorityClassName must be system-node-critical');
  expect(
    list(spec['tolerations']).some((t) => t['operator'] === 'Exists' && t['key'] === undefined && t['effect'] === undefined),
    'needs a toleration {operator: Exists} (no key, no effect) to tolerate every taint',
  );
  expect(at(ds, 'spec.updateStrategy.type') === 'RollingUpdate', 'updateStrategy must be RollingUpdate');
  expect(at(ds, 'spec.updateStrategy.rollingUpdate.maxUnavailable') === '10%', 'maxUnavailable must be 10%');
  const selector = at(ds, 'spec.selector.matchLabels');
  const podLabels = at(ds, 'spec.template.metadata.labels');
  expect(
    isObj(selector) && isObj(podLabels) && Object.entries(selector).every(([k, v]) => podLabels[k] === v),
    'spec.selector must match the pod template labels',
  );
  const nodeSelector = at(spec, 'nodeSelector');
  for (const [k, v] of Object.entries({ 'kubernetes.io/os': 'linux', ...want.nodeSelector })) {
    expect(isObj(nodeSelector) && nodeSelector[k] === v, `nodeSelector must have ${k}: ${v}`);
  }
  if (!want.nodeSelector) {
    expect(isObj(nodeSelector) && Object.keys(nodeSelector).length === 1, 'nodeSelector must select every Linux node');
  }

  // Service account and RBAC wiring.
  const sa = spec['serviceAccountName'];
  expect(find(objects, 'ServiceAccount', String(sa)) !== undefined, `serviceAccountName ${String(sa)} has no ServiceAccount`);
  const binding = find(objects, 'ClusterRoleBinding');
  expect(
    list(binding?.['subjects']).some((s) => s['kind'] === 'ServiceAccount' && s['name'] === sa && s['namespace'] === at(ds, 'metadata.namespace')),
    'the ClusterRoleBinding must bind the DaemonSet ServiceAccount',
  );
  expect(find(objects, 'ClusterRole', String(at(binding, 'roleRef.name'))) !== undefined, 'the ClusterRoleBinding must reference the ClusterRole');

  // Node name from the downward API, used as --hostname-override.
  const nodeEnv = list(c['env']).find((e) => e['name'] === 'NODE_NAME');
  expect(at(nodeEnv, 'valueFrom.fieldRef.fieldPath') === 'spec.nodeName', 'env NODE_NAME must come from fieldRef spec.nodeName');
  const args = Array.isArray(c['args']) ? (c['args'] as unknown[]) : [];
  expect(args.includes('--hostname-override=$(NODE_NAME)'), 'args must include --hostname-override=$(NODE_NAME)');
  expect(args.includes('--config=/var/lib/kube-proxy/config.conf'), 'args must include --config=/var/lib/kube-proxy/config.conf');

  // The config as the daemon would load it.
  const { loaded, errors: cfgErrors } = loadDaemonSetConfig(objects);
  errors.push(...cfgErrors);
  if (loaded) {
    const cfg = loaded.config;
    expect(cfg.mode === want.mode, `mode is ${cfg.mode}, expected ${want.mode}`);
    expect(cfg.hostnameOverride === NODE_NAME, `hostnameOverride is "${cfg.hostnameOverride}", expected the substituted NODE_NAME`);
    expect(cfg.kubeconfig === '', 'kubeconfig must be empty (in-cluster service account)');
    const healthz = splitHostPort(cfg.healthzBindAddress);
    const metrics = splitHostPort(cfg.metricsBindAddress);
    expect(healthz?.host === '0.0.0.0', `healthzBindAddress ${cfg.healthzBindAddress} must listen on all addresses for the kubelet probes`);
    expect(metrics?.host === '0.0.0.0', `metricsBindAddress ${cfg.metricsBindAddress} must listen on all addresses for Prometheus`);

    // Probes on the health server's port.
    const probe = (name: string, path: string) => {
      const p = c[name];
      expect(at(p, 'httpGet.path') === path, `${name} must GET ${path}`);
      const port = resolvePort(c, at(p, 'httpGet.port'));
      expect(port !== undefined && port === healthz?.port, `${name} port ${String(at(p, 'httpGet.port'))} is not the healthz port ${healthz?.port}`);
      expect(at(p, 'httpGet.host') === undefined, `${name} must not set host (the pod IP is the node IP)`);
    };
    probe('livenessProbe', '/livez');
    probe('readinessProbe', '/healthz');

    // Metrics port: container port, scrape annotation, Service, ServiceMonitor agree.
    expect(resolvePort(c, 'metrics') === metrics?.port, `container port "metrics" is not the metrics port ${metrics?.port}`);
    const ann = at(ds, 'spec.template.metadata.annotations');
    expect(isObj(ann) && ann['prometheus.io/scrape'] === 'true', 'pod template needs prometheus.io/scrape: "true"');
    expect(isObj(ann) && ann['prometheus.io/port'] === String(metrics?.port), 'prometheus.io/port must be the metrics port');
    expect(isObj(ann) && ann['prometheus.io/path'] === '/metrics', 'prometheus.io/path must be /metrics');
  }

  const svc = find(objects, 'Service', 'kube-proxy-ts-metrics');
  expect(at(svc, 'spec.clusterIP') === 'None', 'the metrics Service must be headless');
  const svcSelector = at(svc, 'spec.selector');
  expect(
    isObj(svcSelector) && isObj(podLabels) && Object.keys(svcSelector).length > 0 && Object.entries(svcSelector).every(([k, v]) => podLabels[k] === v),
    'the metrics Service must select the DaemonSet pods',
  );
  const svcPort = list(at(svc, 'spec.ports')).find((p) => p['name'] === 'metrics');
  expect(resolvePort(c, svcPort?.['targetPort']) === resolvePort(c, 'metrics'), 'the metrics Service must target the container metrics port');

  // Security.
  const sc = c['securityContext'];
  const caps = at(sc, 'capabilities.add');
  if (want.privileged) {
    expect(at(sc, 'privileged') === true, 'container must be privileged (sysctls, kernel modules)');
  } else {
    expect(at(sc, 'privileged') !== true, 'container must not be privileged');
    expect(Array.isArray(caps) && caps.includes('NET_ADMIN'), 'container needs capability NET_ADMIN');
    expect(at(sc, 'allowPrivilegeEscalation') === false, 'allowPrivilegeEscalation must be false');
    expect(Array.isArray(at(sc, 'capabilities.drop')) && (at(sc, 'capabilities.drop') as unknown[]).includes('ALL'), 'capabilities must drop ALL');
  }

  // Host mounts.
  const volumes = list(spec['volumes']);
  const mount = (path: string) => list(c['volumeMounts']).find((m) => m['mountPath'] === path);
  const hostVolume = (path: string) => volumes.find((v) => v['name'] === mount(path)?.['name']);
  expect(at(hostVolume('/lib/modules'), 'hostPath.path') === '/lib/modules', '/lib/modules must be a hostPath mount');
  expect(mount('/lib/modules')?.['readOnly'] === true, '/lib/modules must be mounted read-only');
  expect(at(hostVolume('/run/xtables.lock'), 'hostPath.path') === '/run/xtables.lock', '/run/xtables.lock must be a hostPath mount');
  expect(at(hostVolume('/run/xtables.lock'), 'hostPath.type') === 'FileOrCreate', '/run/xtables.lock must be hostPath type FileOrCreate');
  for (const m of list(c['volumeMounts'])) {
    expect(volumes.some((v) => v['name'] === m['name']), `volumeMount ${String(m['name'])} has no volume`);
  }
  for (const v of volumes) {
    const cm = at(v, 'configMap.name');
    if (typeof cm === 'string' && at(v, 'configMap.optional') !== true) expect(find(objects, 'ConfigMap', cm) !== undefined, `volume ${String(v['name'])}: ConfigMap ${cm} is missing`);
  }

  // Resource requests.
  expect(typeof at(c, 'resources.requests.cpu') === 'string', 'container needs a cpu request');
  expect(typeof at(c, 'resources.requests.memory') === 'string', 'container needs a memory request');
  return errors;
}

/** `group/resource verb` for every grant of every ClusterRole rule. */
export function grants(role: Obj | undefined): string[] {
  const out = new Set<string>();
  for (const r of list(role?.['rules'])) {
    const groups = (r['apiGroups'] as unknown[] | undefined) ?? [];
    const resources = (r['resources'] as unknown[] | undefined) ?? [];
    const verbs = (r['verbs'] as unknown[] | undefined) ?? [];
    if (r['resourceNames'] !== undefined || r['nonResourceURLs'] !== undefined) out.add(`unexpected resourceNames/nonResourceURLs in ${JSON.stringify(r)}`);
    for (const g of groups) for (const res of resources) for (const v of verbs) out.add(`${String(g) === '' ? 'core' : String(g)}/${String(res)} ${String(v)}`);
  }
  return [...out].sort();
}

export const EXPECTED_GRANTS: readonly string[] = [
  'core/services list',
  'core/services watch',
  'core/endpoints list',
  'core/endpoints watch',
  'discovery.k8s.io/endpointslices list',
  'discovery.k8s.io/endpointslices watch',
  'core/nodes get',
  'core/nodes list',
  'core/nodes watch',
  'core/events create',
  'core/events patch',
  'events.k8s.io/events create',
  'events.k8s.io/events patch',
].slice().sort();

/** Histogram series suffixes Prometheus exposes. */
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Metric names a PromQL expression uses that the registry does not expose (prefix kubeproxy_). */
export function unknownMetrics(expr: string, registered: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/\bkubeproxy_[a-zA-Z0-9_]+/g)) {
    const name = m[0];
    if (registered.has(name) && registered.get(name) !== 'histogram') continue;
    const base = HISTOGRAM_SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : undefined)).find((b) => b !== undefined);
    if (base !== undefined && registered.get(base) === 'histogram') continue;
    out.push(name);
  }
  return out;
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows included) and query variables. */
export function dashboardExprs(dashboard: Obj): string[] {
  const out: string[] = [];
  const panels = (ps: unknown) => {
    for (const p of list(ps)) {
      for (const t of list(p['targets'])) if (typeof t['expr'] === 'string') out.push(t['expr']);
      panels(p['panels']);
    }
  };
  panels(dashboard['panels']);
  for (const v of list(at(dashboard, 'templating.list'))) {
    const q = v['query'];
    if (typeof q === 'string' && v['type'] === 'query') out.push(q);
    if (isObj(q) && typeof q['query'] === 'string') out.push(q['query']);
  }
  return out;
}
