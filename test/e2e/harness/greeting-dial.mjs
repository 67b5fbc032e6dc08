// One TCP attempt against an echo server (test/e2e/harness echo servers greet with a JSON line
// holding their "name"): connect, read the greeting, close. Shared by the client scripts that run
// inside namespaces (userspace-helpers/dials.mjs, mode-switch-loop.mjs, the IPVS guest's loop).
// Resolves { name } or { error, phase: 'connect' | 'greeting' }, with ms (connect() to the end),
// the local port once bound, and for a timeout lagMs (how late the timer itself fired).
//
// Under emulation a whole process can stall for seconds, and node runs expired timers BEFORE it
// polls for I/O, so a greeting that arrived during the stall would lose to the timer. The timer
// therefore gives the poll phase one turn (setImmediate runs after it) before it calls the attempt
// failed: what counts is whether the greeting had arrived by the deadline.
import { connect } from 'node:net';

export function dialGreeting({ ip, port, timeoutMs }) {
  return new Promise((resolve) => {
    const start = performance.now();
    const sock = connect({ host: ip, port });
    let buf = '';
    let connected = false;
    let finished = false;
    const phase = () => (connected ? 'greeting' : 'connect');
    const done = (r) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const local = sock.localPort;
      sock.destroy();
      resolve({ ...(local ? { port: local } : {}), ...r, ms: Math.round((performance.now() - start) * 10) / 10 });
    };
    const armed = Date.now();
    const timer = setTimeout(() => {
      const lagMs = Date.now() - armed - timeoutMs;
      setImmediate(() => done({ error: 'ETIMEDOUT', phase: phase(), lagMs }));
    }, timeoutMs);
    sock.on('connect', () => (connected = true));
    sock.on('data', (b) => {
      buf += b.toString('utf8');
      const i = buf.indexOf('\n');
      if (i < 0) return;
      try {
        const name = JSON.parse(buf.slice(0, i)).name;
        done(typeof name === 'string' ? { name } : { error: 'EBADREPLY', phase: 'greeting' });
      } catch {
        done({ error: 'EBADREPLY', phase: 'greeting' });
      }
    });
    sock.on('error', (e) => done({ error: e?.code ?? String(e), phase: phase() }));
    sock.on('end', () => done({ error: 'ECONNRESET', phase: phase() }));
  });
}
