// Label and field selector parsing for the test apiserver. Only the equality-based forms that
// kube-proxy and the tests use are supported; anything else is rejected so a test that relies on
// an unsupported form fails loudly instead of silently matching everything.

export type LabelRequirement =
  | { readonly op: 'exists'; readonly key: string }
  | { readonly op: 'notExists'; readonly key: string }
  | { readonly op: 'eq'; readonly key: string; readonly value: string }
  | { readonly op: 'neq'; readonly key: string; readonly value: string };

export interface FieldRequirement {
  readonly field: 'metadata.name' | 'metadata.namespace';
  readonly op: 'eq' | 'neq';
  readonly value: string;
}

export class SelectorError extends Error {}

// Qualified label key: optional DNS prefix, then a name of alphanumerics, '-', '_' and '.'.
const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function terms(selector: string): string[] {
  return selector
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function checkKey(key: string, term: string): string {
  if (!KEY.test(key)) throw new SelectorError(`invalid label key in selector term "${term}"`);
  return key;
}

function checkValue(value: string, term: string): string {
  if (!VALUE.test(value)) throw new SelectorError(`invalid label value in selector term "${term}"`);
  return value;
}

/** Parses `key`, `!key`, `key=value`, `key==value`, `key!=value`, comma-separated (ANDed). */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  return terms(selector).map((term): LabelRequirement => {
    if (term.startsWith('!')) return { op: 'notExists', key: checkKey(term.slice(1).trim(), term) };
    const neq = term.indexOf('!=');
    if (neq >= 0) {
      return {
        op: 'neq',
        key: checkKey(term.slice(0, neq).trim(), term),
        value: checkValue(term.slice(neq + 2).trim(), term),
      };
    }
    const eq = term.indexOf('=');
    if (eq >= 0) {
      const valueStart = term[eq + 1] === '=' ? eq + 2 : eq + 1;
      return {
        op: 'eq',
        key: checkKey(term.slice(0, eq).trim(), term),
        value: checkValue(term.slice(valueStart).trim(), term),
      };
    }
    if (/[\s()]/.test(term)) throw new SelectorError(`unsupported selector term "${term}"`);
    return { op: 'exists', key: checkKey(term, term) };
  });
}

export function matchesLabels(
  reqs: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'notExists':
        return !has;
      case 'eq':
        return has && l[r.key] === r.value;
      case 'neq':
        // As upstream: a missing label satisfies key!=value.
        return !has || l[r.key] !== r.value;
    }
  });
}

/** Parses `metadata.name=X`, `metadata.namespace!=Y` (also `==`), comma-separated. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  return terms(selector).map((term): FieldRequirement => {
    const m = /^([a-zA-Z.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector term "${term}"`);
    const [, field, op, value] = m;
    if (field !== 'metadata.name' && field !== 'metadata.namespace') {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    return { field, op: op === '!=' ? 'neq' : 'eq', value: value ?? '' };
  });
}

export function matchesFields(
  reqs: readonly FieldRequirement[],
  meta: { readonly name?: string; readonly namespace?: string },
): boolean {
  return reqs.every((r) => {
    const actual = (r.field === 'metadata.name' ? meta.name : meta.namespace) ?? '';
    return r.op === 'eq' ? actual === r.value : actual !== r.value;
  });
}
