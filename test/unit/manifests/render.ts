// A small, strict subset of kustomize, enough to render manifests/ in a unit test without kubectl:
// `resources` (files and directories), `namespace`, `images`, `labels` (metadata only) and
// `patches` given as strategic-merge patch files. Anything else in a kustomization is an error, so
// a feature this renderer does not understand cannot be silently ignored by the tests.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Obj = Record<string, unknown>;

export interface LoadedDoc {
  readonly file: string;
  readonly index: number;
  readonly value: Obj;
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every non-empty YAML document of a file; throws on YAML errors or a non-object document. */
export function readYamlDocs(file: string): LoadedDoc[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
  const out: LoadedDoc[] = [];
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isObj(value)) throw new Error(`${file} document ${index}: not a mapping`);
    out.push({ file, index, value });
  });
  return out;
}

/** kind/namespace/name, namespace "" for cluster-scoped objects. */
export function objectId(o: Obj): string {
  const md = isObj(o['metadata']) ? o['metadata'] : {};
  return `${String(o['kind'])}/${String(md['namespace'] ?? '')}/${String(md['name'])}`;
}

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'Node', 'PriorityClass', 'CustomResourceDefinition']);

const KNOWN_KEYS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'labels', 'patches']);

export interface Kustomization {
  readonly dir: string;
  readonly file: string;
  readonly resources: string[];
  readonly patches: string[];
  readonly raw: Obj;
}

export function readKustomization(dir: string): Kustomization {
  const file = join(dir, 'kustomization.yaml');
  const docs = readYamlDocs(file);
  if (docs.length !== 1) throw new Error(`${file}: expected one document`);
  const raw = docs[0]!.value;
  if (raw['apiVersion'] !== 'kustomize.config.k8s.io/v1beta1' || raw['kind'] !== 'Kustomization') {
    throw new Error(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  }
  for (const key of Object.keys(raw)) if (!KNOWN_KEYS.has(key)) throw new Error(`${file}: field "${key}" is not supported by the test renderer`);
  const strings = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`${file}: ${what} must be a list of strings`);
    return v as string[];
  };
  const patches = raw['patches'] === undefined ? [] : (raw['patches'] as unknown[]);
  if (!Array.isArray(patches)) throw new Error(`${file}: patches must be a list`);
  const patchPaths = patches.map((p) => {
    if (!isObj(p) || typeof p['path'] !== 'string' || Object.keys(p).length !== 1) {
      throw new Error(`${file}: only "- path: FILE" strategic-merge patches are supported`);
    }
    return p['path'];
  });
  return { dir, file, resources: strings(raw['resources'], 'resources'), patches: patchPaths, raw };
}

export interface Rendered {
  readonly objects: Obj[];
  /** Problems found while rendering (missing files, patches that match nothing, duplicates). */
  readonly errors: string[];
  /** Every file the rendering read, relative to `root`. */
  readonly files: Set<string>;
}

/** Render the kustomization in `dir`. `root` is only used to make file names in messages short. */
export function render(dir: string, root: string): Rendered {
  const errors: string[] = [];
  const files = new Set<string>();
  const objects = renderInto(dir, root, errors, files);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = objectId(o);
    if (seen.has(id)) errors.push(`${relative(root, dir)}: ${id} is defined twice`);
    seen.add(id);
  }
  return { objects, errors, files };
}

function renderInto(dir: string, root: string, errors: string[], files: Set<string>): Obj[] {
  const k = readKustomization(dir);
  files.add(relative(root, k.file));
  const rel = (p: string) => relative(root, join(dir, p));
  let objects: Obj[] = [];
  for (const r of k.resources) {
    const path = join(dir, r);
    if (!existsSync(path)) {
      errors.push(`${relative(root, k.file)}: resource ${r} does not exist`);
      continue;
    }
    if (statSync(path).isDirectory()) {
      if (!existsSync(join(path, 'kustomization.yaml'))) errors.push(`${relative(root, k.file)}: resource ${r} has no kustomization.yaml`);
      else objects.push(...renderInto(path, root, errors, files));
    } else {
      files.add(rel(r));
      objects.push(...readYamlDocs(path).map((d) => structuredClone(d.value)));
    }
  }
  for (const p of k.patches) {
    const path = join(dir, p);
    if (!existsSync(path)) {
      errors.push(`${relative(root, k.file)}: patch ${p} does not exist`);
      continue;
    }
    files.add(rel(p));
    for (const doc of readYamlDocs(path)) {
      const target = objects.findIndex((o) => sameTarget(o, doc.value, k.raw['namespace']));
      if (target < 0) {
        errors.push(`${rel(p)}: patch for ${objectId(doc.value)} matches no object of ${relative(root, k.file)}`);
        continue;
      }
      objects[target] = strategicMerge(objects[target]!, doc.value) as Obj;
    }
  }
  const ns = k.raw['namespace'];
  if (typeof ns === 'string') {
    objects = objects.map((o) => {
      if (CLUSTER_SCOPED.has(String(o['kind']))) return o;
      const md = isObj(o['metadata']) ? o['metadata'] : {};
      return { ...o, metadata: { ...md, namespace: ns } };
    });
  }
  applyLabels(objects, k.raw['labels']);
  applyImages(objects, k.raw['images']);
  return objects;
}

function sameTarget(o: Obj, patch: Obj, kustomizationNs: unknown): boolean {
  const om = isObj(o['metadata']) ? o['metadata'] : {};
  const pm = isObj(patch['metadata']) ? patch['metadata'] : {};
  const pns = pm['namespace'] ?? kustomizationNs;
  return (
    o['apiVersion'] === patch['apiVersion'] &&
    o['kind'] === patch['kind'] &&
    om['name'] === pm['name'] &&
    (pns === undefined || (om['namespace'] ?? kustomizationNs) === pns)
  );
}

/**
 * Strategic merge for what these manifests use: maps merge recursively, lists of maps that all
 * carry "name" merge by name (containers, volumes, env), every other list and scalar is replaced.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObj(base) && isObj(patch)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? strategicMerge(base[k], v) : structuredClone(v);
    return out;
  }
  const named = (l: unknown): l is Obj[] => Array.isArray(l) && l.length > 0 && l.every((e) => isObj(e) && typeof e['name'] === 'string');
  if (named(base) && named(patch)) {
    const out = base.map((e) => ({ ...e }));
    for (const p of patch) {
      const i = out.findIndex((e) => e['name'] === p['name']);
      if (i >= 0) out[i] = strategicMerge(out[i], p) as Obj;
      else out.push(structuredClone(p));
    }
    return out;
  }
  return structuredClone(patch);
}

function applyLabels(objects: Obj[], labels: unknown): void {
  if (labels === undefined) return;
  if (!Array.isArray(labels)) throw new Error('labels must be a list');
  for (const l of labels) {
    if (!isObj(l) || !isObj(l['pairs'])) throw new Error('labels entries need pairs');
    if (l['includeSelectors'] === true || l['includeTemplates'] === true) throw new Error('labels: only metadata labels are supported by the test renderer');
    for (const o of objects) {
      const md = (o['metadata'] ??= {}) as Obj;
      md['labels'] = { ...(isObj(md['labels']) ? md['labels'] : {}), ...l['pairs'] };
    }
  }
}

function applyImages(objects: Obj[], images: unknown): void {
  if (images === undefined) return;
  if (!Array.isArray(images)) throw new Error('images must be a list');
  for (const img of images) {
    if (!isObj(img) || typeof img['name'] !== 'string') throw new Error('images entries need a name');
    for (const c of allContainers(objects)) {
      const [name, tag] = splitImage(String(c['image']));
      if (name !== img['name']) continue;
      const newName = typeof img['newName'] === 'string' ? img['newName'] : name;
      const newTag = typeof img['newTag'] === 'string' ? img['newTag'] : tag;
      c['image'] = newTag === undefined ? newName : `${newName}:${newTag}`;
    }
  }
}

function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}

/** Containers and init containers of every workload's pod template. */
export function allContainers(objects: Obj[]): Obj[] {
  const out: Obj[] = [];
  for (const o of objects) {
    const spec = podSpec(o);
    if (!spec) continue;
    for (const key of ['containers', 'initContainers']) {
      const list = spec[key];
      if (Array.isArray(list)) out.push(...list.filter(isObj));
    }
  }
  return out;
}

export function podSpec(o: Obj): Obj | undefined {
  const spec = o['spec'];
  if (!isObj(spec)) return undefined;
  const template = spec['template'];
  if (!isObj(template)) return undefined;
  return isObj(template['spec']) ? template['spec'] : undefined;
}

/** Value at a dotted path ("spec.template.spec"), undefined when any step is missing. */
export function at(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const key of path.split('.')) {
    if (isObj(cur)) cur = cur[key];
    else if (Array.isArray(cur) && /^\d+$/.test(key)) cur = cur[Number(key)];
    else return undefined;
  }
  return cur;
}
