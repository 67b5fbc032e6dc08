// The "new connection every 50 ms" client of the mode-switch test, run inside a namespace with one
// JSON argument {"ip","port","intervalMs","timeoutMs"}. Each tick opens a fresh TCP connection
// (a fresh conntrack entry, so it is translated by whatever rules are live at that moment), waits
// for the echo's greeting and closes. A line on stdin (or its end) stops the loop; once every
// attempt in flight has finished, one JSON summary goes to stdout:
//   {"attempts":N,"failures":[{"at":ms,"error":"ECONNREFUSED"},...],"names":{"a1":n,...}}
// Ticks do not wait for the previous attempt, so a slow answer cannot hide a gap.
import { createInterface } from 'node:readline';
import { dialGreeting } from './harness/greeting-dial.mjs';

const spec = JSON.parse(process.argv[2]);
const intervalMs = spec.intervalMs ?? 50;
const timeoutMs = spec.timeoutMs ?? 2000;
const started = Date.now();
const failures = [];
const names = {};
let attempts = 0;
const inFlight = new Set();

function once() {
  attempts++;
  const at = Date.now() - started;
  const p = dialGreeting({ ip: spec.ip, port: spec.port, timeoutMs }).then(({ name, error }) => {
    if (error) failures.push({ at, error });
    else names[name] = (names[name] ?? 0) + 1;
  });
  inFlight.add(p);
  void p.then(() => inFlight.delete(p));
}

const timer = setInterval(once, intervalMs);
once();
process.stdout.write('STARTED\n');

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await Promise.all([...inFlight]);
  process.stdout.write(JSON.stringify({ attempts, failures, names }) + '\n');
  process.exit(0);
}
createInterface({ input: process.stdin }).on('line', () => void stop());
process.stdin.on('end', () => void stop());
