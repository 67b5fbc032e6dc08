// The demo's command line and environment, parsed into one options object (pure, so the rules
// are testable): flags win over environment variables, which win over the defaults.

import { parseArgs } from 'node:util';

export type Output = 'table' | 'plain' | 'json';

export interface DemoOptions {
  /** The daemon's --mode in both node namespaces. */
  readonly mode: string;
  /** Stop by itself after this many seconds of traffic; undefined runs until Ctrl-C. */
  readonly seconds?: number;
  /** Seconds between scaling `web` up and down. */
  readonly scaleEvery: number;
  readonly output: Output;
  readonly help: boolean;
}

/** Modes the demo can run: the ones whose dataplane works inside a network namespace here. */
export const DEMO_MODES: readonly string[] = ['iptables', 'userspace', 'nftables'];

export const USAGE = `usage: bash scripts/demo.sh [--mode iptables|userspace|nftables] [--seconds N] [--scale-every N] [--json|--plain]

Builds a two-node cluster out of network namespaces, runs kube-proxy-ts in each node, sends
requests to sample Services and shows, every second, which pod answered them.
  --mode          dataplane of both daemons (default iptables; nftables once that mode exists)
  --seconds N     stop after N seconds of traffic (env KPT_DEMO_SECONDS); default: until Ctrl-C
  --scale-every N add/remove one endpoint of default/web every N seconds (env KPT_DEMO_SCALE_SECONDS, default 5)
  --json          one JSON object per line instead of the table (env KPT_DEMO_OUTPUT=json)
  --plain         one text line per service per second (the default when stdout is not a terminal)`;

function positiveInt(what: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`demo: ${what} must be a whole number of seconds >= 1, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseDemoArgs(argv: readonly string[], env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): DemoOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      mode: { type: 'string' },
      seconds: { type: 'string' },
      'scale-every': { type: 'string' },
      json: { type: 'boolean', default: false },
      plain: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const mode = values.mode ?? env['KPT_DEMO_MODE'] ?? 'iptables';
  if (!DEMO_MODES.includes(mode)) throw new Error(`demo: --mode must be one of ${DEMO_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  const secondsText = values.seconds ?? env['KPT_DEMO_SECONDS'];
  const scaleText = values['scale-every'] ?? env['KPT_DEMO_SCALE_SECONDS'];
  const envOutput = env['KPT_DEMO_OUTPUT'];
  if (envOutput !== undefined && envOutput !== '' && !['table', 'plain', 'json'].includes(envOutput)) {
    throw new Error(`demo: KPT_DEMO_OUTPUT must be table, plain or json, got ${JSON.stringify(envOutput)}`);
  }
  if (values.json && values.plain) throw new Error('demo: --json and --plain exclude each other');
  const output: Output = values.json
    ? 'json'
    : values.plain
      ? 'plain'
      : envOutput === 'json' || envOutput === 'plain' || envOutput === 'table'
        ? envOutput
        : stdoutIsTTY
          ? 'table'
          : 'plain';
  return {
    mode,
    ...(secondsText !== undefined && secondsText !== '' ? { seconds: positiveInt(values.seconds !== undefined ? '--seconds' : 'KPT_DEMO_SECONDS', secondsText) } : {}),
    scaleEvery: scaleText !== undefined && scaleText !== '' ? positiveInt(values['scale-every'] !== undefined ? '--scale-every' : 'KPT_DEMO_SCALE_SECONDS', scaleText) : 5,
    output,
    help: values.help,
  };
}
