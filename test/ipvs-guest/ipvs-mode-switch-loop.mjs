// A client loop for the mode-switch e2e test, run inside a namespace with one JSON argument
// {"targets":[{"ip":..,"port":..},..],"intervalMs":..,"timeoutMs":..}: starts a new TCP connection
// every intervalMs (the next one intervalMs after the previous one started, or at once if it took
// longer), to the targets in turn, reads the echo server's greeting line, closes, and prints one
// JSON line per attempt: {"t":<ms since start>,"i":<target index>,"name":..} or {...,"error":..}.
// Runs until stdin closes. One process for every target: the emulated guest has little CPU.
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
    const done = (r) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), spec.timeoutMs ?? 3000);
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
    sock.on('error', (e) => done({ error: e.code ?? String(e) }));
    sock.on('end', () => done({ error: 'ECONNRESET' }));
  });
}

for (let n = 0; !stopping; n++) {
  const t = Date.now();
  const i = n % spec.targets.length;
  const r = await once(spec.targets[i]);
  process.stdout.write(JSON.stringify({ t: t - started, i, ...r }) + '\n');
  const wait = spec.intervalMs - (Date.now() - t);
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
process.exit(0);
