// Echo server for end-to-end tests, run inside a pod namespace by the harness:
//   ip netns exec <pod> node echo-server.mjs --name <pod> [--tcp 8080] [--http 8081] [--udp 8080]
// TCP: on connect writes {"name","src"} then echoes every line (long-lived connections).
// HTTP: any GET answers the same JSON. UDP: every datagram is answered with the same JSON.
// All sockets bind "::" dual-stack, so IPv4 clients appear as plain IPv4 addresses.
// Prints "READY" on stdout once everything listens; exits when its parent goes away so a
// killed test run cannot leave it behind.
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createSocket } from 'node:dgram';

const args = parseArgs(process.argv.slice(2));
const name = args.name ?? 'echo';
const tcpPort = Number(args.tcp ?? 8080);
const httpPort = Number(args.http ?? 8081);
const udpPort = Number(args.udp ?? 8080);

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

const plain = (addr) => (addr?.startsWith('::ffff:') ? addr.slice(7) : addr);
const hello = (addr, port) => JSON.stringify({ name, src: `${plain(addr)}:${port}` });

const tcp = createServer((sock) => {
  sock.on('error', () => undefined);
  sock.write(hello(sock.remoteAddress, sock.remotePort) + '\n');
  let buf = '';
  sock.on('data', (chunk) => {
    buf += chunk.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      sock.write(buf.slice(0, i + 1));
      buf = buf.slice(i + 1);
    }
  });
});

const http = createHttpServer((req, res) => {
  const body = hello(req.socket.remoteAddress, req.socket.remotePort) + '\n';
  res.writeHead(200, { 'content-type': 'application/json', 'x-echo-name': name });
  res.end(body);
});

const udp = createSocket({ type: 'udp6', ipv6Only: false });
udp.on('message', (_msg, rinfo) => udp.send(hello(rinfo.address, rinfo.port) + '\n', rinfo.port, rinfo.address));
udp.on('error', (e) => fail(e));

function fail(e) {
  process.stderr.write(`echo-server ${name}: ${e.message}\n`);
  process.exit(1);
}

const listen = (server, port) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '::', port, ipv6Only: false }, resolve);
  });

Promise.all([
  tcpPort > 0 ? listen(tcp, tcpPort) : undefined,
  httpPort > 0 ? listen(http, httpPort) : undefined,
  udpPort > 0 ? new Promise((resolve) => udp.bind({ address: '::', port: udpPort }, resolve)) : undefined,
]).then(() => process.stdout.write('READY\n'), fail);

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
process.on('SIGTERM', () => process.exit(0));
