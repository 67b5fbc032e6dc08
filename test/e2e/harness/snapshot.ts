// A normalized picture of the ROOT namespace's addresses, routes and iptables rules, so tests can
// assert the harness (and the daemons under test) never touched it. Counters, timestamps and
// address lifetimes change on their own and are stripped.

import { exec } from '../../../modes/shared/exec.js';

async function out(argv: readonly string[]): Promise<string> {
  const r = await exec(argv);
  return r.stdout;
}

export interface RootSnapshot {
  readonly addr: string;
  readonly route: string;
  readonly route6: string;
  readonly iptables: string;
}

export async function rootSnapshot(): Promise<RootSnapshot> {
  const [addr, route, route6, iptables] = await Promise.all([
    out(['ip', 'addr']),
    out(['ip', 'route']),
    out(['ip', '-6', 'route']),
    out(['iptables-save']),
  ]);
  return {
    addr: addr
      .split('\n')
      .filter((l) => !/valid_lft|preferred_lft/.test(l))
      .join('\n'),
    route,
    route6: route6.replace(/\s+expires \d+sec/g, ''),
    iptables: iptables
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, '[]'))
      .join('\n'),
  };
}
