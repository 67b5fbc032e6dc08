// The "new connection every 50 ms" client of the mode-switch test, run inside a namespace with one
// JSON argument {"ip","port","intervalMs","timeoutMs"}. Each tick opens a fresh TCP connection
// (a fresh conntrack entry, so it is translated by whatever rules are live at that moment), waits
// for the echo's greeting and closes. A line on stdin (or its end) stops the loop; once every
// attempt in flight has finished, one JSON summary goes to stdout:
//   {"attempts":N,"failures":[{"at":ms,"error":"ECONNREFUSED"},...],"names":{"a1":n,...}}
// Ticks do not wait for the previous attempt, so a slow answer cannot hide a gap.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

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
  const p = new Promise((resolve) => {
    const sock = connect({ host: spec.ip, port: spec.port });
    let buf = '';
    const done = (name, error) => {
      clearTimeout(timer);
      sock.destroy();
      if (error) failures.push({ at, error });
      else names[name] = (names[name] ?? 0) + 1;
      resolve();
    };
    const timer = setTimeout(() => done(undefined, 'ETIMEDOUT'), timeoutMs);
    sock.on('data', (b) => {
      buf += b.toString('utf8');
      const i = buf.indexOf('\n');
      if (i < 0) return;
      try {
        const name = JSON.parse(buf.slice(0, i)).name;
        done(name, typeof name === 'string' ? undefined : 'EBADREPLY');
      } catch {
        done(undefined, 'EBADREPLY');
      }
    });
    sock.on('error', (e) => done(undefined, e?.code ?? String(e)));
    sock.on('end', () => done(undefined, 'ECONNRESET'));
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
