// A client loop for the mode-switch e2e test, run inside a namespace with one JSON argument
// {"ip":..,"port":..,"intervalMs":..,"timeoutMs":..}: starts a new TCP connection every intervalMs
// (the next one intervalMs after the previous one started, or at once if it took longer), reads
// the echo server's greeting line, closes, and prints one JSON line per attempt:
// {"t":<ms since start>,"name":..} or {"t":..,"error":..}. Runs until stdin closes.
import { connect } from 'node:net';

const spec = JSON.parse(process.argv[2]);
const started = Date.now();
let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => (stopping = true));
process.stdin.on('error', () => (stopping = true));

function once() {
  return new Promise((resolve) => {
    const sock = connect({ host: spec.ip, port: spec.port });
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

while (!stopping) {
  const t = Date.now();
  const r = await once();
  process.stdout.write(JSON.stringify({ t: t - started, ...r }) + '\n');
  const wait = spec.intervalMs - (Date.now() - t);
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
process.exit(0);
