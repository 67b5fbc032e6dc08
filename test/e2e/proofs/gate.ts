// A restore gate for iptables mode (restore-gate.mjs): a directory to put first in a daemon's
// PATH whose iptables-nft-restore commits the first *nat transaction of the daemon's next restore
// and holds back the rest, so a SIGKILL lands mid-way through a multi-part sync every time.

import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../../support/eventually.js';

const SCRIPT = fileURLToPath(new URL('./restore-gate.mjs', import.meta.url));
const TOOL = 'iptables-nft-restore';

export interface GateMarker {
  /** Transactions the real tool committed before the gate held the next one back. */
  readonly committed: number;
  /** The table of the transaction held back. */
  readonly heldTable: string;
  readonly realExit: number;
}

export interface RestoreGate {
  /** The daemon's environment: the gate first in PATH. */
  readonly env: NodeJS.ProcessEnv;
  /** Resolves once the gate holds a transaction back (the real tool has exited). */
  held(timeoutMs?: number): Promise<GateMarker>;
  remove(): void;
}

function realTool(): string {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, TOOL);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new Error(`${TOOL} not found in PATH`);
}

export function restoreGate(): RestoreGate {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-gate-'));
  const marker = join(dir, 'held.json');
  const shim = join(dir, TOOL);
  writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(SCRIPT)} ${JSON.stringify(realTool())} ${JSON.stringify(marker)} "$@"\n`);
  chmodSync(shim, 0o755);
  return {
    env: { PATH: `${dir}${delimiter}${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
    held: async (timeoutMs = 60_000) => {
      await eventually(async () => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'), 'the restore gate to hold a transaction back', timeoutMs, 20);
      return JSON.parse(readFileSync(marker, 'utf8')) as GateMarker;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
