// An iptables-restore stand-in for the SIGKILL-mid-sync proof: put first in the daemon's PATH
// (as iptables-nft-restore) by gate.ts. It feeds the real tool (argv[2]) the daemon's payload one
// transaction at a time and, once a *nat transaction has been committed, holds the next one back:
// the real tool gets end-of-input there (a transaction without COMMIT is never applied), exits,
// and the marker file (argv[3]) records what was committed. The daemon is left waiting on a tool
// that never finishes, exactly mid-way through its multi-part sync, until the test kills it.
// Then the gate exits too (it watches its parent), so nothing outlives the daemon.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [real, marker, ...args] = process.argv.slice(2);
// The daemon that ran us (the shim exec()s, so it is our parent); read once, as we outlive it.
const parent = process.ppid;
const child = spawn(real, args, { stdio: ['pipe', 'inherit', 'inherit'] });
const childExit = new Promise((res) => child.once('exit', (code) => res(code ?? -1)));
let table = '';
let committed = 0;
let natCommitted = false;
let held = false;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (held) return; // drained, never applied
  if (line.startsWith('*')) {
    if (natCommitted) {
      held = true;
      child.stdin.end();
      void childExit.then((code) => {
        writeFileSync(marker, JSON.stringify({ committed, heldTable: line.slice(1), realExit: code }) + '\n');
      });
      return;
    }
    table = line.slice(1);
  }
  child.stdin.write(line + '\n');
  if (line === 'COMMIT') {
    committed++;
    if (table === 'nat') natCommitted = true;
  }
});
rl.on('close', async () => {
  if (!held) {
    // The whole payload went through (a one-part restore): behave exactly like the real tool.
    child.stdin.end();
    process.exit(await childExit);
  }
  // Input ended while holding back: wait for the daemon to be killed, then go too.
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      clearInterval(timer);
      process.exit(1);
    }
  }, 50);
});
