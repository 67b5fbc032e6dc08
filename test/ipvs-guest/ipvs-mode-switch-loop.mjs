// A client loop for the mode-switch e2e test, run inside a namespace with one JSON argument
// {"targets":[{"ip":..,"port":..},..],"intervalMs":..,"timeoutMs":..}: starts a new TCP connection
// every intervalMs (the next one intervalMs after the previous one started, or at once if it took
// longer), to the targets in turn, reads the echo server's greeting line, closes, and prints one
// JSON line per attempt: {"t":<ms since start>,"at":<epoch ms>,"i":<target index>,"port":<local
// port>,"name":..} or {...,"error":..,"phase":"connect"|"greeting","lagMs":..}. Runs until stdin
// closes. One process for every target: the emulated guest has little CPU.
// lagMs and the timer's extra poll turn: see ../e2e/harness/greeting-dial.mjs.
import { dialGreeting } from '../e2e/harness/greeting-dial.mjs';

const spec = JSON.parse(process.argv[2]);
const started = Date.now();
let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => (stopping = true));
process.stdin.on('error', () => (stopping = true));

async function once(target) {
  const { ms: _ms, ...r } = await dialGreeting({ ip: target.ip, port: target.port, timeoutMs: spec.timeoutMs ?? 3000 });
  return r;
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
