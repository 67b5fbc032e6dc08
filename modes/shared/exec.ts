// The one place that starts external programs. Always an argument vector, never a shell string,
// so object names can never be interpreted by a shell.

import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  /** Written to the child's stdin (e.g. an iptables-restore payload). */
  readonly input?: string;
  /**
   * Written to stdin one after another instead of `input`, each taken from the iterator only when
   * the child has drained the previous one, so the caller's work to build the next overlaps the
   * child's work on this one.
   */
  readonly inputChunks?: Iterable<string>;
  /**
   * SIGKILL the child after this long. With inputChunks it counts from the last chunk the child
   * took, not from the start: a long series of transactions that makes progress (a sync of
   * thousands of service ports on a loaded node took more than 120 s in all) is not killed, a tool
   * stuck on one is. A killed child's stderr says so.
   */
  readonly timeoutMs?: number;
  /**
   * More time per MiB of the input (with inputChunks, of the chunk just taken and the one before:
   * the pipe takes a chunk while the tool still works on the previous one). What a tool does with
   * its input can grow faster than the input: iptables-nft-restore is quadratic in the chains of
   * one transaction, and one of ~6,000 changed service ports took more than 120 s under load.
   */
  readonly timeoutMsPerMiB?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export type Exec = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

export const exec: Exec = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) {
      reject(new Error('exec: empty argument vector'));
      return;
    }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    // Decoded as it arrives, not kept as Buffers until the end: each read's buffer is malloc'd
    // outside the JS heap, and an iptables-save of 46 MiB kept as thousands of them grew glibc's
    // heap by ~40 MiB that it never gave back (free, but below memory still in use, so not
    // trimmable; measured with malloc_info/malloc_trim in the daemon after a full sync). As
    // strings they live in V8's heap, which returns its pages; the decoder keeps a UTF-8
    // sequence split between two reads whole.
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => out.push(s));
    child.stderr.on('data', (s: string) => err.push(s));
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    let limitMs = opts.timeoutMs;
    let previous = 0;
    const arm = (input?: string): void => {
      if (opts.timeoutMs === undefined) return;
      if (timer) clearTimeout(timer);
      const bytes = previous + (input?.length ?? 0);
      previous = input?.length ?? 0;
      limitMs = opts.timeoutMs + Math.round((bytes / (1 << 20)) * (opts.timeoutMsPerMiB ?? 0));
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, limitMs);
    };
    arm(opts.input);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`exec ${cmd}: ${e.message}`));
    });
    let inputError: unknown;
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (inputError !== undefined) {
        reject(inputError instanceof Error ? inputError : new Error(String(inputError)));
        return;
      }
      const stderr = err.join('');
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: out.join(''),
        stderr: timedOut ? `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}killed: no progress within ${limitMs} ms\n` : stderr,
      });
    });
    // A child that exits before reading stdin makes the write fail with EPIPE; the exit code
    // already reports the failure, so the write error is deliberately ignored.
    child.stdin.on('error', () => undefined);
    if (opts.inputChunks === undefined) child.stdin.end(opts.input ?? '');
    else
      writeChunks(child.stdin, opts.inputChunks, arm).catch((e: unknown) => {
        // Building a chunk failed: stop the child rather than let it commit a partial input.
        inputError = e;
        child.kill('SIGKILL');
      });
  });

async function writeChunks(stdin: Writable, chunks: Iterable<string>, progressed: (chunk: string) => void): Promise<void> {
  for (const chunk of chunks) {
    if (stdin.destroyed) return; // the child exited early; its exit code says why
    progressed(chunk); // the child took the previous chunk (or this is the first)
    if (!stdin.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
    }
  }
  stdin.end();
}

/** Run and throw with stderr when the exit code is not 0. */
export async function execOk(argv: readonly string[], opts?: ExecOptions, run: Exec = exec): Promise<ExecResult> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}
