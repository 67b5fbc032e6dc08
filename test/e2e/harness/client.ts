// Typed wrappers around client.mjs: each batch of attempts is ONE process inside the namespace
// (starting node per attempt would dominate test time on a 2-core machine).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nsExec } from './ns.js';
import { stopChild, track } from './processes.js';
import { harnessScript } from './spawn.js';

/** One attempt: the echo's name and the source address it saw, or an errno-style code. */
export interface Hit {
  readonly name?: string;
  readonly src?: string;
  /** 'ECONNREFUSED' (rejected), 'ETIMEDOUT' (dropped / no answer), 'EHOSTUNREACH', ... */
  readonly error?: string;
}

export interface HitOptions {
  /** Per attempt. Default 2000 ms. */
  readonly timeoutMs?: number;
}

export interface UdpOptions extends HitOptions {
  /** Bind this source port for every attempt (same conntrack tuple each time). */
  readonly sourcePort?: number;
}

export interface HttpResult {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  readonly body?: string;
  readonly error?: string;
}

async function runClient<T>(ns: string, spec: Record<string, unknown>, budgetMs: number): Promise<T> {
  const r = await nsExec(ns, [process.execPath, harnessScript('client.mjs'), JSON.stringify(spec)], {
    timeoutMs: budgetMs + 10_000,
  });
  if (r.code !== 0) throw new Error(`client in ${ns} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}

export function tcpHits(ns: string, ip: string, port: number, count: number, opts: HitOptions = {}): Promise<Hit[]> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return runClient(ns, { op: 'tcp', ip, port, count, timeoutMs }, count * timeoutMs);
}

export function udpHits(ns: string, ip: string, port: number, count: number, opts: UdpOptions = {}): Promise<Hit[]> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return runClient(ns, { op: 'udp', ip, port, count, timeoutMs, sourcePort: opts.sourcePort }, count * timeoutMs);
}

export function httpGet(ns: string, url: string, opts: HitOptions = {}): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return runClient(ns, { op: 'http', url, timeoutMs }, timeoutMs);
}

/** `[ip]` for IPv6 so the result can be used in a URL. */
export const hostForUrl = (ip: string): string => (ip.includes(':') ? `[${ip}]` : ip);

/** Count of hits per echo name (errors counted under `error:<code>`). */
export function tally(hits: readonly Hit[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of hits) {
    const key = h.error !== undefined ? `error:${h.error}` : (h.name ?? '?');
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export interface LongLived {
  /** The greeting ({name, src}) or the connect error. */
  readonly connected: Promise<Hit>;
  send(line: string): void;
  /** The next line echoed back; rejects after `timeoutMs` or when the connection closed. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** send + nextLine. */
  request(line: string, timeoutMs?: number): Promise<string>;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  close(): Promise<void>;
}

interface ClientEvent {
  readonly event: 'connected' | 'line' | 'error' | 'closed';
  readonly name?: string;
  readonly src?: string;
  readonly error?: string;
  readonly data?: string;
}

/** One TCP connection held open by a helper process in `ns`. */
export function openLongLived(ns: string, ip: string, port: number, opts: HitOptions = {}): LongLived {
  const spec = { op: 'long', ip, port, timeoutMs: opts.timeoutMs ?? 2000 };
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, harnessScript('client.mjs'), JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  track(child, ns);
  child.stdin.on('error', () => undefined);

  const lines: string[] = [];
  const waiters: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  let closedFlag = false;
  let resolveConnected: (h: Hit) => void = () => undefined;
  const connected = new Promise<Hit>((r) => (resolveConnected = r));
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  const markClosed = (): void => {
    if (closedFlag) return;
    closedFlag = true;
    resolveConnected({ error: 'ECONNRESET' });
    for (const w of waiters.splice(0)) w.reject(new Error('connection closed'));
    resolveClosed();
  };

  createInterface({ input: child.stdout }).on('line', (raw) => {
    const ev = JSON.parse(raw) as ClientEvent;
    if (ev.event === 'connected') resolveConnected(ev.error ? { error: ev.error } : { name: ev.name, src: ev.src });
    else if (ev.event === 'error') resolveConnected({ error: ev.error });
    else if (ev.event === 'closed') markClosed();
    else if (ev.event === 'line') {
      const w = waiters.shift();
      if (w) w.resolve(ev.data ?? '');
      else lines.push(ev.data ?? '');
    }
  });
  child.once('exit', markClosed);

  const nextLine = (timeoutMs = 2000): Promise<string> => {
    const queued = lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (closedFlag) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no echo within ${timeoutMs}ms`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };
  const send = (line: string): void => {
    child.stdin.write(JSON.stringify({ op: 'send', data: line }) + '\n');
  };

  return {
    connected,
    send,
    nextLine,
    request: (line, timeoutMs) => {
      send(line);
      return nextLine(timeoutMs);
    },
    closed,
    isClosed: () => closedFlag,
    close: async () => {
      if (!closedFlag) child.stdin.write(JSON.stringify({ op: 'close' }) + '\n');
      const exited = await Promise.race([closed.then(() => true), delay(2000).then(() => false)]);
      if (!exited) await stopChild(child, 1000);
    },
  };
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
