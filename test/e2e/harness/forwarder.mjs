// Runs inside a node namespace: listens on <host>:<port> and pipes every connection to a unix
// socket (unix sockets are not network-namespaced), so a daemon in the namespace can reach the
// test apiserver running in the root namespace without any root-namespace networking.
//   ip netns exec <node> node forwarder.mjs --host 127.0.0.1 --port 6443 --socket /path.sock
// Prints "READY" when listening; exits when its parent goes away.
import { createConnection, createServer } from 'node:net';

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];

const server = createServer((client) => {
  const upstream = createConnection({ path: args.socket });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
});
server.on('error', (e) => {
  process.stderr.write(`forwarder: ${e.message}\n`);
  process.exit(1);
});
server.listen({ host: args.host ?? '127.0.0.1', port: Number(args.port) }, () => process.stdout.write('READY\n'));

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
process.on('SIGTERM', () => process.exit(0));
