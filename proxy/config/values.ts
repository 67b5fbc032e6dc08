// Value kinds shared by flags and the config file: each knows how to read itself from flag text and
// from a decoded YAML/JSON value, and what to say it expected when the input is wrong. Keeping the
// checks here means `--iptables-masquerade-bit=40` and `iptables.masqueradeBit: 40` fail alike.

import { ipFamily, parseCidr } from '../model/ip.js';
import { parseDuration } from './duration.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

export interface Kind<T> {
  /** Shown in --help next to the flag name, as pflag does. */
  readonly typeName: string;
  fromText(raw: string): Parsed<T>;
  fromYaml(value: unknown): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(expected: string): Parsed<T> => ({ ok: false, expected });

/** Most kinds accept the same text in YAML as on the command line, but only as a string. */
function textOnly<T>(typeName: string, fromText: (raw: string) => Parsed<T>, what: string): Kind<T> {
  return {
    typeName,
    fromText,
    fromYaml: (v) => (typeof v === 'string' ? fromText(v) : bad(what)),
  };
}

export const stringKind: Kind<string> = textOnly('string', (raw) => ok(raw), 'a string');

// Go's strconv.ParseBool spellings, so `--masquerade-all=True` and `=1` behave as upstream.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

export function parseBool(raw: string): boolean | undefined {
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  return undefined;
}

export const boolKind: Kind<boolean> = {
  typeName: '',
  fromText: (raw) => {
    const b = parseBool(raw);
    return b === undefined ? bad('true or false') : ok(b);
  },
  fromYaml: (v) => (typeof v === 'boolean' ? ok(v) : bad('a boolean (true or false)')),
};

export function intKind(min = -(2 ** 31), max = 2 ** 31 - 1): Kind<number> {
  const expected = `an integer between ${min} and ${max}`;
  const check = (n: number): Parsed<number> => (Number.isInteger(n) && n >= min && n <= max ? ok(n) : bad(expected));
  return {
    typeName: 'int32',
    fromText: (raw) => (/^[+-]?\d+$/.test(raw.trim()) ? check(Number(raw)) : bad(expected)),
    fromYaml: (v) => (typeof v === 'number' ? check(v) : bad(expected)),
  };
}

/** Durations in milliseconds; `positive` rejects 0 (sync periods), otherwise 0 means "leave alone". */
export function durationKind(range: 'nonNegative' | 'positive'): Kind<number> {
  const expected = 'a duration like 30s';
  return textOnly(
    'duration',
    (raw) => {
      const ms = parseDuration(raw);
      if (ms === undefined) return bad(expected);
      if (ms < 0) return bad('a non-negative duration like 30s');
      if (range === 'positive' && ms === 0) return bad('a duration greater than 0s, like 30s');
      return ok(ms);
    },
    `${expected} (as a string)`,
  );
}

/** One of a fixed set; `emptyMeans` lets "" stand for the default, as upstream allows for mode. */
export function enumKind<T extends string>(values: readonly T[], emptyMeans?: T): Kind<T> {
  const expected = `one of ${values.join(', ')}`;
  return textOnly(
    'string',
    (raw) => {
      if (raw === '' && emptyMeans !== undefined) return ok(emptyMeans);
      const hit = values.find((v) => v === raw);
      return hit === undefined ? bad(expected) : ok(hit);
    },
    expected,
  );
}

export const ipKind: Kind<string> = textOnly(
  'string',
  (raw) => (ipFamily(raw.trim()) ? ok(raw.trim()) : bad('an IP address like 0.0.0.0 or ::')),
  'an IP address as a string',
);

/**
 * "host:port", "[v6]:port", or a bare IP that gets `defaultPort`. An empty value disables the server
 * (upstream: empty metricsBindAddress turns metrics off).
 */
export function hostPortKind(defaultPort: number): Kind<string> {
  const expected = 'an IP:port like 0.0.0.0:10256 (or empty to disable)';
  return textOnly(
    'string',
    (raw) => {
      const text = raw.trim();
      if (text === '') return ok('');
      const hp = splitHostPort(text);
      if (hp) return ok(text);
      const fam = ipFamily(text);
      if (fam === 'IPv4') return ok(`${text}:${defaultPort}`);
      if (fam === 'IPv6') return ok(`[${text}]:${defaultPort}`);
      return bad(expected);
    },
    expected,
  );
}

/** Split "1.2.3.4:80" or "[::1]:80"; undefined unless the host is an IP and the port is 0..65535. */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? '';
  const port = Number(m[2]);
  if (!ipFamily(host) || port > 65535) return undefined;
  // "[1.2.3.4]:80" is not a valid form; brackets are only for IPv6.
  if (text.startsWith('[') !== (ipFamily(host) === 'IPv6')) return undefined;
  return { host, port };
}

/** Join host and port, bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number): string {
  return ipFamily(host) === 'IPv6' ? `[${host}]:${port}` : `${host}:${port}`;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Lists arrive comma-separated on the command line and as string arrays in YAML. */
function listKind(check: (items: string[]) => Parsed<string[]>, expected: string): Kind<string[]> {
  return {
    typeName: 'strings',
    fromText: (raw) => check(splitList(raw)),
    fromYaml: (v) => {
      if (typeof v === 'string') return check(splitList(v));
      if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return check(v.map((s) => s.trim()));
      return bad(expected);
    },
  };
}

export const cidrListKind: Kind<string[]> = listKind((items) => {
  return items.every((c) => c.includes('/') && parseCidr(c) !== undefined)
    ? ok(items)
    : bad('a comma-separated list of CIDRs like 10.0.0.0/8');
}, 'a list of CIDRs');

/** --cluster-cidr: one CIDR, or a dual-stack pair with one CIDR per family. */
export const clusterCIDRKind: Kind<string[]> = listKind((items) => {
  const expected = 'a CIDR or a comma-separated dual-stack pair like 10.0.0.0/8,fd00::/64';
  const parsed = items.map((c) => (c.includes('/') ? parseCidr(c) : undefined));
  if (parsed.some((c) => c === undefined) || items.length > 2) return bad(expected);
  if (parsed.length === 2 && parsed[0]?.family === parsed[1]?.family) return bad(expected);
  return ok(items);
}, 'a CIDR string');

const NODEPORT_KEYWORDS = ['primary', 'all'];

/** --nodeport-addresses: CIDRs, or one of the keywords on its own. */
export const nodePortAddressesKind: Kind<string[]> = listKind((items) => {
  const expected = "a comma-separated list of CIDRs, or 'primary' or 'all'";
  if (items.length === 1 && NODEPORT_KEYWORDS.includes(items[0] ?? '')) return ok(items);
  return items.every((c) => c.includes('/') && parseCidr(c) !== undefined) ? ok(items) : bad(expected);
}, "a list of CIDRs, or ['primary'] or ['all']");

/** --feature-gates "A=true,B=false" or a YAML map of booleans; which gates exist is checked later. */
export const gatesKind: Kind<Record<string, boolean>> = {
  typeName: 'mapStringBool',
  fromText: (raw) => {
    const out: Record<string, boolean> = {};
    for (const item of splitList(raw)) {
      const eq = item.indexOf('=');
      const b = eq > 0 ? parseBool(item.slice(eq + 1).trim()) : undefined;
      if (b === undefined) return bad('comma-separated key=true|false pairs like Foo=true,Bar=false');
      out[item.slice(0, eq).trim()] = b;
    }
    return ok(out);
  },
  fromYaml: (v) => {
    const expected = 'a map of gate names to booleans';
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad(expected);
    const out: Record<string, boolean> = {};
    for (const [k, b] of Object.entries(v)) {
      if (typeof b !== 'boolean') return bad(expected);
      out[k] = b;
    }
    return ok(out);
  },
};
