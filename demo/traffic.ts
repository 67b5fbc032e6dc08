// The demo's traffic generator, run inside a client namespace by demo/main.ts:
//   ip netns exec <ns> node dist/demo/traffic.js '{"targets":[...],"intervalMs":100,"timeoutMs":800}'
// Every target gets its own loop of requests, one after another, each a fresh connection (TCP) or
// a fresh socket (UDP), so each is a new conntrack entry and load balancing shows. Each result is
// one JSON line on stdout: {"i":<target index>,"name":"<pod>"} or {"i":..,"error":"ETIMEDOUT"}.
// The echo servers (test/e2e/harness/echo-server.mjs) answer {"name","src"}. Exits when its
// parent goes away, so a killed demo cannot leave it behind.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

export interface TrafficTarget {
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

export interface TrafficSpec {
  readonly targets: readonly TrafficTarget[];
  /** Time from the start of one request to the start of the next, per target. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface TrafficResult {
  readonly i: number;
  readonly name?: string;
  readonly error?: string;
}

const errorCode = (e: unknown): string => (e as NodeJS.ErrnoException | undefined)?.code ?? String(e);

function nameOf(reply: string): TrafficResult['name'] | undefined {
  try {
    const v = JSON.parse(reply) as { name?: unknown };
    return typeof v.name === 'string' ? v.name : undefined;
  } catch {
    return undefined;
  }
}

function tcpOnce(t: TrafficTarget, timeoutMs: number): Promise<Omit<TrafficResult, 'i'>> {
  return new Promise((resolve) => {
    const sock = connect({ host: t.ip, port: t.port });
    let buf = '';
    const done = (r: Omit<TrafficResult, 'i'>): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), timeoutMs);
    sock.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const name = nameOf(buf.slice(0, nl));
      done(name !== undefined ? { name } : { error: 'EBADREPLY' });
    });
    sock.on('error', (e) => done({ error: errorCode(e) }));
    sock.on('end', () => done({ error: 'ECONNRESET' }));
  });
}

function udpOnce(t: TrafficTarget, timeoutMs: number): Promise<Omit<TrafficResult, 'i'>> {
  return new Promise((resolve) => {
    const sock = createSocket(t.ip.includes(':') ? 'udp6' : 'udp4');
    const done = (r: Omit<TrafficResult, 'i'>): void => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // Already closed.
      }
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), timeoutMs);
    sock.on('error', (e) => done({ error: errorCode(e) }));
    sock.on('message', (msg) => {
      const name = nameOf(msg.toString('utf8').trim());
      done(name !== undefined ? { name } : { error: 'EBADREPLY' });
    });
    // Connected, so an ICMP port-unreachable (REJECT) surfaces as ECONNREFUSED.
    sock.connect(t.port, t.ip, () => sock.send('hello\n'));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function loop(i: number, t: TrafficTarget, spec: TrafficSpec): Promise<never> {
  for (;;) {
    const started = Date.now();
    const r = await (t.protocol === 'UDP' ? udpOnce(t, spec.timeoutMs) : tcpOnce(t, spec.timeoutMs));
    process.stdout.write(JSON.stringify({ i, ...r }) + '\n');
    await sleep(Math.max(0, spec.intervalMs - (Date.now() - started)));
  }
}

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '{}') as TrafficSpec;
  if (!Array.isArray(spec.targets) || spec.targets.length === 0) {
    process.stderr.write('traffic: usage: traffic.js \'{"targets":[{"ip":..,"port":..,"protocol":"TCP"}],"intervalMs":..,"timeoutMs":..}\'\n');
    process.exit(2);
  }
  spec.targets.forEach((t, i) => void loop(i, t, spec));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 500).unref();
  process.on('SIGTERM', () => process.exit(0));
  process.stdout.on('error', () => process.exit(0));
}

main();
