// Bulk-transfer helper for the userspace e2e tests, run inside a namespace:
//   node blob.mjs sink --port 9000 [--delay 200]
//     Server. Per connection: sha256 of everything received; after the client's FIN (and `delay`
//     ms, so the reply clearly comes after the half-close) writes {"bytes","sha256"} and closes.
//     Prints READY once listening; exits when its parent goes away.
//   node blob.mjs send --ip 198.19.0.14 --port 9000 --bytes 104857600 [--timeout 60000]
//     Client. Streams random bytes (with backpressure), hashing them, then half-closes and waits
//     for the sink's reply. Prints {"sent","sha256","reply"} or {"error"}.
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';

const [mode, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, '')] = rest[i + 1];

if (mode === 'sink') {
  const delay = Number(args.delay ?? 0);
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('error', () => undefined);
    const hash = createHash('sha256');
    let bytes = 0;
    sock.on('data', (c) => {
      bytes += c.length;
      hash.update(c);
    });
    sock.on('end', () => {
      const reply = JSON.stringify({ bytes, sha256: hash.digest('hex') }) + '\n';
      setTimeout(() => sock.end(reply), delay);
    });
  });
  server.on('error', (e) => {
    process.stderr.write(`blob sink: ${e.message}\n`);
    process.exit(1);
  });
  server.listen({ host: '::', port: Number(args.port ?? 9000), ipv6Only: false }, () => process.stdout.write('READY\n'));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
  process.on('SIGTERM', () => process.exit(0));
} else if (mode === 'send') {
  const total = Number(args.bytes);
  const chunkSize = 1 << 20;
  const hash = createHash('sha256');
  const sock = connect({ host: args.ip, port: Number(args.port), allowHalfOpen: true });
  const done = (v) => {
    process.stdout.write(JSON.stringify(v) + '\n');
    process.exit(0);
  };
  setTimeout(() => done({ error: 'ETIMEDOUT', sent }), Number(args.timeout ?? 60_000)).unref();
  let sent = 0;
  let reply = '';
  let finSent = false;
  sock.on('error', (e) => done({ error: e.code ?? e.message, sent }));
  sock.on('data', (c) => (reply += c.toString('utf8')));
  sock.on('end', () => {
    if (!finSent) return done({ error: 'EARLYEOF', sent, reply });
    let parsed;
    try {
      parsed = JSON.parse(reply);
    } catch {
      return done({ error: 'EBADREPLY', sent, reply });
    }
    done({ sent, sha256: hash.digest('hex'), reply: parsed });
  });
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunkSize, total - sent);
      const chunk = randomBytes(n);
      hash.update(chunk);
      sent += n;
      if (!sock.write(chunk)) return void sock.once('drain', pump);
    }
    finSent = true;
    sock.end();
  };
  sock.once('connect', pump);
} else {
  process.stderr.write(`blob: unknown mode ${mode}\n`);
  process.exit(2);
}
