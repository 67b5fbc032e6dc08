// A client loop for the mode-switch e2e test, run inside a namespace with one JSON argument
// {"targets":[{"ip":..,"port":..},..],"intervalMs":..,"timeoutMs":..}: starts a new TCP connection
// every intervalMs (the next one intervalMs after the previous one started, or at once if it took
// longer), to the targets in turn, reads the echo server's greeting line, closes, and prints one
// JSON line per attempt: {"t":<ms since start>,"at":<epoch ms>,"i":<target index>,"port":<local
// port>,"name":..} or {...,"error":..,"phase":"connect"|"greeting","lagMs":..}. Runs until stdin
// closes. One process for every target: the emulated guest has little CPU.
//
// lagMs: how late the timeout timer itself fired. Under emulation a whole process can stall for
// seconds; node runs expired timers BEFORE it polls for I/O, so a greeting that arrived during the
// stall would lose to the timer. The timer therefore gives the poll phase one turn (setImmediate
// runs after it) before it calls the attempt failed: what counts is whether the greeting had
// arrived by the deadline, not which callback node happened to run first.
import { connect } from 'node:net';

const spec = JSON.parse(process.argv[2]);
const started = Date.now();
let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => (stopping = true));
process.stdin.on('error', () => (stopping = true));

function once(target) {
  return new Promise((resolve) => {
    const sock = connect({ host: target.ip, port: target.port });
    let buf = '';
    let connected = false;
    let finished = false;
    const done = (r) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const port = sock.localPort;
      sock.destroy();
      resolve({ ...(port ? { port } : {}), ...r });
    };
    const timeoutMs = spec.timeoutMs ?? 3000;
    const armed = Date.now();
    const timer = setTimeout(() => {
      const lagMs = Date.now() - armed - timeoutMs;
      setImmediate(() => done({ error: 'ETIMEDOUT', phase: connected ? 'greeting' : 'connect', lagMs }));
    }, timeoutMs);
    sock.on('connect', () => (connected = true));
    sock.on('data', (b) => {
      buf += b.toString('utf8');
      const i = buf.indexOf('\n');
      if (i < 0) return;
      try {
        done({ name: JSON.parse(buf.slice(0, i)).name });
      } catch {
        done({ error: 'EBADREPLY' });
      }
    });
    sock.on('error', (e) => done({ error: e.code ?? String(e), phase: connected ? 'greeting' : 'connect' }));
    sock.on('end', () => done({ error: 'ECONNRESET', phase: connected ? 'greeting' : 'connect' }));
  });
}

for (let n = 0; !stopping; n++) {
  const t = Date.now();
  const i = n % spec.targets.length;
  const r = await once(spec.targets[i]);
  process.stdout.write(JSON.stringify({ t: t - started, at: t, i, ...r }) + '\n');
  const wait = spec.intervalMs - (Date.now() - t);
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
process.exit(0);
