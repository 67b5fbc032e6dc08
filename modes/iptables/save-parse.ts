// Parsing iptables-save output (and restore payload lines) into tables of chains of rules.
// Used by full syncs (find stale chains and missing jumps), cleanup, the packet tracer and the
// test fake. Rules are kept as normalized text so rendered rules and saved rules compare equal
// even when iptables-save quotes a comment differently than we wrote it.

export interface SavedChain {
  readonly name: string;
  /** Policy for built-in chains ("ACCEPT"/"DROP"), "-" for user chains. */
  readonly policy: string;
  /** Rule text after `-A <chain> `, normalized with normalizeRule. */
  readonly rules: string[];
}

export type SavedTable = Map<string, SavedChain>;
/** Table name → chains in save order. */
export type SavedTables = Map<string, SavedTable>;

/** A token: unquoted runs and double-quoted runs (with backslash escapes) glued together. */
const TOKEN = /(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g;

/**
 * Split a rule into argv-like tokens, honouring double quotes and backslash escapes the way
 * iptables-restore does. A regex does the splitting (a full sync tokenizes ~10^6 rules at scale).
 */
export function tokenize(line: string): string[] {
  const tokens = line.match(TOKEN) ?? [];
  if (!line.includes('"')) return tokens;
  if (line.replace(TOKEN, '').trim() !== '') throw new Error(`unterminated quote in: ${line}`);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t.includes('"')) tokens[i] = t.replace(/"((?:[^"\\]|\\.)*)"/g, (_m, q: string) => q.replace(/\\(.)/g, '$1'));
  }
  return tokens;
}

/** Re-join tokens, quoting those that need it; the inverse of tokenize. */
export function joinTokens(tokens: readonly string[]): string {
  return tokens.map((t) => (/^[\w.:/!,+[\]-]+$/.test(t) ? t : `"${t.replace(/["\\]/g, '\\$&')}"`)).join(' ');
}

export function normalizeRule(rule: string): string {
  return joinTokens(tokenize(rule));
}

/** The jump/goto target of a normalized or raw rule, if any. */
export function ruleTarget(rule: string): string | undefined {
  const t = tokenize(rule);
  for (let i = 0; i < t.length - 1; i++) if (t[i] === '-j' || t[i] === '-g') return t[i + 1];
  return undefined;
}

/** Parse `iptables-save` text. Counters (`[p:b]` prefixes) are ignored. */
export function parseSave(text: string): SavedTables {
  const tables: SavedTables = new Map();
  let table: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      const name = line.slice(1);
      table = tables.get(name) ?? new Map();
      tables.set(name, table);
    } else if (line === 'COMMIT') {
      table = undefined;
    } else if (table && line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(/\s+/);
      if (!table.has(name)) table.set(name, { name, policy, rules: [] });
    } else if (table) {
      const tokens = tokenize(line.replace(/^\[\d+:\d+\]\s*/, ''));
      if (tokens[0] !== '-A' || tokens[1] === undefined) continue;
      const chain = table.get(tokens[1]) ?? { name: tokens[1], policy: '-', rules: [] };
      table.set(tokens[1], chain);
      chain.rules.push(joinTokens(tokens.slice(2)));
    }
  }
  return tables;
}

/**
 * Parse `iptables -t TABLE -S CHAIN` output (`-P CHAIN POLICY` or `-N CHAIN`, then `-A CHAIN ...`
 * lines) into the chain as parseSave would give it. Lines of other chains are ignored.
 */
export function parseListedChain(text: string, chain: string): SavedChain {
  let policy = '-';
  const rules: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const tokens = tokenize(line);
    if (tokens[1] !== chain) continue;
    if (tokens[0] === '-P' && tokens[2] !== undefined) policy = tokens[2];
    else if (tokens[0] === '-A') rules.push(joinTokens(tokens.slice(2)));
  }
  return { name: chain, policy, rules };
}
