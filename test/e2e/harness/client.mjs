// Traffic generator for end-to-end tests, run inside a namespace with one JSON argument:
//   {"op":"tcp","ip":..,"port":..,"count":..,"timeoutMs":..}   one connection per attempt
//   {"op":"udp","ip":..,"port":..,"count":..,"timeoutMs":..,"sourcePort"?:..}
//   {"op":"http","url":..,"timeoutMs":..}
// and prints one JSON result on stdout. Attempts run one after another so each is a fresh
// connection (a fresh conntrack entry), which is what load-balancing assertions need.
//   {"op":"long","ip":..,"port":..,"timeoutMs":..}
// keeps one TCP connection open: stdin takes {"op":"send","data":..} / {"op":"close"} lines,
// stdout reports {"event":"connected"|"line"|"error"|"closed",...} lines.
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { createInterface } from 'node:readline';

const spec = JSON.parse(process.argv[2]);
const timeoutMs = spec.timeoutMs ?? 2000;

const errorCode = (e) => e?.code ?? e?.message ?? String(e);

function parseHello(line) {
  try {
    const v = JSON.parse(line);
    return { name: v.name, src: v.src };
  } catch {
    return { error: 'EBADREPLY', data: line };
  }
}

function tcpOnce() {
  return new Promise((resolve) => {
    const sock = connect({ host: spec.ip, port: spec.port });
    let buf = '';
    const done = (r) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), timeoutMs);
    sock.on('data', (b) => {
      buf += b.toString('utf8');
      const i = buf.indexOf('\n');
      if (i >= 0) done(parseHello(buf.slice(0, i)));
    });
    sock.on('error', (e) => done({ error: errorCode(e) }));
    sock.on('end', () => done({ error: 'ECONNRESET' }));
  });
}

function udpOnce() {
  return new Promise((resolve) => {
    const sock = createSocket(spec.ip.includes(':') ? 'udp6' : 'udp4');
    const done = (r) => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), timeoutMs);
    sock.on('error', (e) => done({ error: errorCode(e) }));
    sock.on('message', (msg) => done(parseHello(msg.toString('utf8').trim())));
    // A connected socket turns an ICMP port-unreachable into ECONNREFUSED.
    sock.bind({ port: spec.sourcePort ?? 0 }, () => {
      sock.connect(spec.port, spec.ip, () => sock.send('hello\n'));
    });
  });
}

function httpOnce() {
  return new Promise((resolve) => {
    const req = request(spec.url, { method: spec.method ?? 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', (e) => resolve({ error: errorCode(e) }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => resolve({ error: errorCode(e) }));
    req.end();
  });
}

async function repeat(once) {
  const results = [];
  for (let i = 0; i < (spec.count ?? 1); i++) results.push(await once());
  return results;
}

const emit = (v) => process.stdout.write(JSON.stringify(v) + '\n');

function longLived() {
  const sock = connect({ host: spec.ip, port: spec.port });
  let buf = '';
  let connected = false;
  const timer = setTimeout(() => {
    if (!connected) {
      emit({ event: 'error', error: 'ETIMEDOUT' });
      process.exit(0);
    }
  }, timeoutMs);
  sock.on('data', (b) => {
    buf += b.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!connected) {
        connected = true;
        clearTimeout(timer);
        emit({ event: 'connected', ...parseHello(line) });
      } else emit({ event: 'line', data: line });
    }
  });
  sock.on('error', (e) => emit({ event: 'error', error: errorCode(e) }));
  sock.on('close', () => {
    emit({ event: 'closed' });
    process.exit(0);
  });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = JSON.parse(line);
    if (cmd.op === 'send') sock.write(cmd.data + '\n');
    else if (cmd.op === 'close') sock.end();
  });
  process.stdin.on('end', () => sock.destroy());
}

switch (spec.op) {
  case 'tcp':
    emit(await repeat(tcpOnce));
    break;
  case 'udp':
    emit(await repeat(udpOnce));
    break;
  case 'http':
    emit(await httpOnce());
    break;
  case 'long':
    longLived();
    break;
  default:
    process.stderr.write(`client: unknown op ${spec.op}\n`);
    process.exit(2);
}
