// Kubernetes schema validation of manifest objects, offline:
//  - kubernetes-models (and @kubernetes-models/prometheus-operator for monitoring.coreos.com):
//    each class's validate() runs the JSON schema generated from the Kubernetes OpenAPI spec
//    (types, enums, required fields, patterns);
//  - @kubernetes/client-node's model type maps: a field those models do not know is reported, the
//    way `kubectl apply --validate=strict` would (the JSON schemas above allow unknown fields).

import * as k8s from '@kubernetes/client-node';
import { isObj, type Obj } from './render.js';

export const SCHEMA_PACKAGES = 'kubernetes-models@4.5.1 @kubernetes-models/prometheus-operator@4.4.4';

interface ModelClass {
  new (data: unknown): { validate(): void };
}

function modelModule(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

/** The kubernetes-models class for an object's apiVersion and kind; a clear error when not installed. */
export async function modelClass(apiVersion: string, kind: string): Promise<ModelClass> {
  const spec = modelModule(apiVersion, kind);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/Cannot find (package|module)|Failed to load url|ERR_MODULE_NOT_FOUND|does not provide|not defined by "exports"/i.test(msg)) {
      throw new Error(`no schema for ${apiVersion} ${kind} (${spec}): ${msg}. The dev dependencies ${SCHEMA_PACKAGES} are needed.`);
    }
    throw err;
  }
  const cls = mod[kind];
  if (typeof cls !== 'function') throw new Error(`${spec} exports no ${kind}`);
  return cls as ModelClass;
}

/** Schema errors of one object (empty when valid). */
export async function schemaErrors(o: Obj): Promise<string[]> {
  const cls = await modelClass(String(o['apiVersion']), String(o['kind']));
  try {
    new cls(o).validate();
    return [];
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

interface Attribute {
  readonly baseName: string;
  readonly type: string;
}

type Model = { getAttributeTypeMap(): Attribute[] };

function modelByName(name: string): Model | undefined {
  const m = (k8s as unknown as Record<string, unknown>)[name];
  return typeof m === 'function' && 'getAttributeTypeMap' in m ? (m as unknown as Model) : undefined;
}

/** client-node's model name for a top-level object, e.g. apps/v1 DaemonSet -> V1DaemonSet. */
export function clientModelName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.slice(apiVersion.indexOf('/') + 1);
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return modelByName(name) ? name : undefined;
}

/** Fields the Kubernetes API does not define, as dotted paths. Objects without a built-in model (CRDs) give []. */
export function unknownFields(o: Obj): string[] {
  const name = clientModelName(String(o['apiVersion']), String(o['kind']));
  if (!name) return [];
  const out: string[] = [];
  walk(o, name, String(o['kind']), out);
  return out;
}

function walk(value: unknown, type: string, path: string, out: string[]): void {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (isObj(value)) for (const [k, v] of Object.entries(value)) walk(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = modelByName(type);
  if (!model || !isObj(value)) return;
  const attrs = model.getAttributeTypeMap();
  for (const [k, v] of Object.entries(value)) {
    const a = attrs.find((x) => x.baseName === k);
    if (!a) out.push(`${path}.${k}`);
    else walk(v, a.type, `${path}.${k}`, out);
  }
}
