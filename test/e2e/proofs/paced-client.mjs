// Paced TCP client for end-to-end tests, run inside a namespace:
//   ip netns exec <ns> node paced-client.mjs '{"ip":..,"port":..,"timeoutMs":..,"offsetsMs":[0,500,...]}'
//   ip netns exec <ns> node paced-client.mjs '{"ip":..,"port":..,"timeoutMs":..,"intervalMs":50}'
// Opens one new connection at each offset (ms after start), or every intervalMs until stdin
// closes, without waiting for earlier ones: the timing is the schedule's, not the answers'.
// Each attempt prints one JSON line {"at","name","src"} or {"at","error"} ("at" = ms after start
// when the connect began); the answer is the echo server's greeting line. Exits after the last
// attempt settles (or when its parent goes away).
import { connect } from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
const timeoutMs = spec.timeoutMs ?? 2000;
const start = Date.now();
let pending = 0;
let stopping = false;

function attempt() {
  const at = Date.now() - start;
  pending++;
  let done = false;
  const sock = connect({ host: spec.ip, port: spec.port });
  const finish = (rec) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    sock.destroy();
    process.stdout.write(JSON.stringify({ at, ...rec }) + '\n');
    pending--;
    if (stopping && pending === 0) process.exit(0);
  };
  const timer = setTimeout(() => finish({ error: 'ETIMEDOUT' }), timeoutMs);
  let buf = '';
  sock.on('data', (b) => {
    buf += b.toString('utf8');
    const i = buf.indexOf('\n');
    if (i < 0) return;
    try {
      const hello = JSON.parse(buf.slice(0, i));
      finish({ name: hello.name, src: hello.src });
    } catch {
      finish({ error: 'EBADGREETING' });
    }
  });
  sock.on('error', (e) => finish({ error: e.code ?? String(e) }));
  sock.on('close', () => finish({ error: 'ECONNRESET' }));
}

function stop() {
  stopping = true;
  if (pending === 0) process.exit(0);
}

if (Array.isArray(spec.offsetsMs)) {
  const offsets = [...spec.offsetsMs].sort((a, b) => a - b);
  offsets.forEach((o, i) => setTimeout(() => {
    attempt();
    if (i === offsets.length - 1) stop();
  }, o));
  if (offsets.length === 0) stop();
} else {
  const timer = setInterval(attempt, spec.intervalMs ?? 50);
  process.stdin.on('end', () => (clearInterval(timer), stop()));
  process.stdin.on('close', () => (clearInterval(timer), stop()));
  process.stdin.resume();
}
// The harness keeps stdin open; if the test process dies, stdin closes and the loop ends.
