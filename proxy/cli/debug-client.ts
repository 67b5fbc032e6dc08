// Talks to a running daemon's debug endpoints on its metrics address (default 127.0.0.1:10249).

export interface DebugClientOptions {
  readonly metricsAddress: string;
}

export async function getDebug(opts: DebugClientOptions, path: string): Promise<Response> {
  const url = `http://${opts.metricsAddress}${path}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`cannot reach the daemon at ${url}: ${err instanceof Error ? err.message : String(err)} (is --metrics-address right?)`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}: ${(await res.text()).trim()}`);
  return res;
}

/** Parses `--name value` / `--name=value` options; returns positional arguments too. */
export function parseSubcommandArgs(argv: readonly string[], known: readonly string[]): { opts: Map<string, string>; positional: string[] } {
  const opts = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (!known.includes(name)) throw new Error(`unknown flag: --${name} (expected one of ${known.map((k) => `--${k}`).join(', ')})`);
    const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined) throw new Error(`flag needs an argument: --${name}`);
    opts.set(name, value);
  }
  return { opts, positional };
}
