// Many short TCP connections with a client-side timeout, timed, for the black-holed endpoint test:
//   node dials.mjs '{"ip":..,"port":..,"count":50,"timeoutMs":2000,"concurrency":1}'
// Each attempt connects and waits for the echo server's greeting line; it fails when that takes
// longer than timeoutMs (what a client with a 2 s timeout would see). `concurrency` attempts run
// at once (1: one after another). Prints one JSON array: {"name"} or {"error"}, and "ms" from
// connect() to the greeting or the failure.
import { connect } from 'node:net';

const spec = JSON.parse(process.argv[2]);
const timeoutMs = spec.timeoutMs ?? 2000;

function once() {
  return new Promise((resolve) => {
    const start = performance.now();
    const sock = connect({ host: spec.ip, port: spec.port });
    let buf = '';
    const done = (r) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...r, ms: Math.round((performance.now() - start) * 10) / 10 });
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), timeoutMs);
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
    sock.on('error', (e) => done({ error: e.code ?? e.message }));
    sock.on('end', () => done({ error: 'ECONNRESET' }));
  });
}

const results = new Array(spec.count);
let next = 0;
async function worker() {
  while (next < spec.count) {
    const i = next++;
    results[i] = await once();
  }
}
await Promise.all(Array.from({ length: Math.max(1, spec.concurrency ?? 1) }, worker));
process.stdout.write(JSON.stringify(results) + '\n');
