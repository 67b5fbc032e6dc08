// iptables chain names (and the hash memo behind them) are flat strings, not ropes: a rope of a
// 16-character hash is 4 32-byte nodes, kept beside the flat copy V8 makes once it is hashed, for
// every endpoint (at 10,000 services x 10 endpoints ~22 MiB of the daemon's heap in a heap
// snapshot). Only V8 can tell a rope from a flat string, so a child node with natives syntax
// prints each string's representation (%DebugPrint) for the built module (dist/).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './daemon-process.js';

const NAMES_JS = pathToFileURL(join(REPO_ROOT, 'dist/modes/iptables/names.js')).href;

/** V8's instance type of each string `exprs` evaluates to (in a child, against `names`). */
function stringTypes(exprs: readonly string[]): string[] {
  const body = exprs.map((e) => `%DebugPrint(${e});`).join('\n');
  const code = `import(${JSON.stringify(NAMES_JS)}).then((names) => {\n${body}\n});`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', code], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return [...r.stdout.matchAll(/- type: (\w+)/g)].map((m) => m[1]!);
}

describe('iptables chain names are flat strings', () => {
  it('service port chains, endpoint chains and the hash are flat, memoized or not', () => {
    const exprs = [
      `names.endpointChainName('default/web:http', 'TCP', '198.18.0.1:8080')`,
      // The second call is served from the memo.
      `names.endpointChainName('default/web:http', 'TCP', '198.18.0.1:8080')`,
      `names.servicePortChains('default/web:http', 'TCP').svc`,
      `names.servicePortChains('default/web:http', 'TCP').fw`,
      `names.servicePortHash('default/web:http', 'UDP')`,
      `names.base32(new Uint8Array(10).fill(200))`,
    ];
    const types = stringTypes(exprs);
    expect(types).toHaveLength(exprs.length);
    for (const t of types) expect(t).not.toMatch(/CONS/);
    for (const t of types) expect(t).toMatch(/STRING_TYPE$/);
  });
});
