// Many short TCP connections with a client-side timeout, timed, for the black-holed endpoint test:
//   node dials.mjs '{"ip":..,"port":..,"count":50,"timeoutMs":2000,"concurrency":1}'
// Each attempt connects and waits for the echo server's greeting line; it fails when that takes
// longer than timeoutMs (what a client with a 2 s timeout would see). `concurrency` attempts run
// at once (1: one after another). Prints one JSON array: {"name"} or {"error"}, and "ms" from
// connect() to the greeting or the failure.
import { dialGreeting } from '../harness/greeting-dial.mjs';

const spec = JSON.parse(process.argv[2]);
const timeoutMs = spec.timeoutMs ?? 2000;

async function once() {
  const { name, error, ms } = await dialGreeting({ ip: spec.ip, port: spec.port, timeoutMs });
  return { ...(error ? { error } : { name }), ms };
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
