// Holds many TCP connections to the echo service open at once, for the endpoint-churn test:
//   node conns.mjs '{"ip":..,"port":..,"count":200,"timeoutMs":5000}'
// Opens `count` connections, reads each greeting, then prints {"event":"ready","names":{..},"failed":n}.
// stdin commands (one JSON per line):
//   {"op":"check","tag":"x"}  every connection sends "x-<i>" and waits for its echo; prints
//                             {"event":"checked","ok":n,"failed":n,"closed":n,"errors":{..}}
//   {"op":"close"}            closes them all and exits.
// A connection closed or reset by anyone is counted under "closed" and never reopened.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const spec = JSON.parse(process.argv[2]);
const timeoutMs = spec.timeoutMs ?? 5000;
const emit = (v) => process.stdout.write(JSON.stringify(v) + '\n');

function open() {
  const c = { sock: connect({ host: spec.ip, port: spec.port }), buf: '', closed: false, error: undefined, waiters: [] };
  c.sock.setEncoding('utf8');
  c.sock.on('data', (d) => {
    c.buf += d;
    let i;
    while ((i = c.buf.indexOf('\n')) >= 0) {
      const line = c.buf.slice(0, i);
      c.buf = c.buf.slice(i + 1);
      c.waiters.shift()?.resolve(line);
    }
  });
  const gone = (why) => {
    c.closed = true;
    c.error ??= why;
    for (const w of c.waiters.splice(0)) w.reject(new Error(why));
  };
  c.sock.on('error', (e) => gone(e.code ?? e.message));
  c.sock.on('close', () => gone('closed'));
  return c;
}

function nextLine(c) {
  if (c.closed) return Promise.reject(new Error(c.error ?? 'closed'));
  return new Promise((resolve, reject) => {
    const w = { resolve, reject };
    c.waiters.push(w);
    setTimeout(() => {
      const i = c.waiters.indexOf(w);
      if (i >= 0) c.waiters.splice(i, 1);
      reject(new Error('ETIMEDOUT'));
    }, timeoutMs).unref();
  });
}

const conns = Array.from({ length: spec.count }, open);
const names = {};
let failed = 0;
await Promise.all(
  conns.map((c) =>
    nextLine(c).then(
      (l) => {
        const name = JSON.parse(l).name;
        names[name] = (names[name] ?? 0) + 1;
      },
      () => failed++,
    ),
  ),
);
emit({ event: 'ready', names, failed });

createInterface({ input: process.stdin }).on('line', async (raw) => {
  const cmd = JSON.parse(raw);
  if (cmd.op === 'close') {
    for (const c of conns) c.sock.destroy();
    process.exit(0);
  }
  if (cmd.op !== 'check') return;
  const errors = {};
  let ok = 0;
  let bad = 0;
  let closed = 0;
  await Promise.all(
    conns.map(async (c, i) => {
      if (c.closed) {
        closed++;
        errors[c.error] = (errors[c.error] ?? 0) + 1;
        return;
      }
      const want = `${cmd.tag}-${i}`;
      const p = nextLine(c);
      c.sock.write(want + '\n');
      try {
        if ((await p) === want) ok++;
        else bad++;
      } catch (e) {
        bad++;
        errors[e.message] = (errors[e.message] ?? 0) + 1;
      }
    }),
  );
  emit({ event: 'checked', ok, failed: bad, closed, errors });
});
process.stdin.on('end', () => process.exit(0));
