// modes/shared/exec.ts's time limit with chunked input: it counts from the last chunk the child
// took, so a child that keeps consuming its input is not killed however long it takes in all (a
// 10,000-service partial sync's iptables-restore was killed after 120 s mid-way, which forced a
// full resync), and one that stops consuming is, with stderr saying why. Real child processes
// (node), no root needed.

import { describe, expect, it } from 'vitest';
import { exec } from '../../modes/shared/exec.js';

const CHUNK = 'x'.repeat(256 * 1024);
// Reads 64 KiB every 100 ms (~0.4 s per chunk, far beyond the pipe buffer) and exits with
// the byte count; the `stuck` variant stops reading after the first read.
const reader = (stuck: boolean): string[] => [
  process.execPath,
  '-e',
  `let n = 0; const fs = require('fs'); const b = Buffer.alloc(65536);
   const tick = () => { let r; try { r = fs.readSync(0, b); } catch (e) { if (e.code === 'EAGAIN') return setTimeout(tick, 100); throw e; }
     if (r === 0) { process.stdout.write(String(n)); return; } n += r; if (${stuck} && n > 0) return setInterval(() => {}, 1000); setTimeout(tick, 100); };
   tick();`,
];

describe('exec output', () => {
  it('decodes UTF-8 split between two reads whole, on stdout and stderr', async () => {
    const r = await exec([
      process.execPath,
      '-e',
      `const b = Buffer.from('é→✓'); process.stdout.write(b.subarray(0, 1)); process.stderr.write(b.subarray(0, 3));
       setTimeout(() => { process.stdout.write(b.subarray(1)); process.stderr.write(b.subarray(3)); }, 200);`,
    ]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'é→✓', 'é→✓']);
  });
});

describe('exec time limit with chunked input', () => {
  it('lets a child that keeps taking chunks run past the limit in all (6 chunks, ~2.4 s, limit 1.5 s)', async () => {
    const t0 = Date.now();
    const r = await exec(reader(false), { inputChunks: Array.from({ length: 6 }, () => CHUNK), timeoutMs: 1500 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Number(r.stdout)).toBe(6 * CHUNK.length);
    expect(Date.now() - t0).toBeGreaterThan(1500);
  });

  it('kills a child that stops taking input, and says so on stderr', async () => {
    const r = await exec(reader(true), { inputChunks: Array.from({ length: 6 }, () => CHUNK), timeoutMs: 1500 });
    expect(r.code).toBe(128);
    expect(r.stderr).toContain('killed: no progress within 1500 ms');
  });

  it('gives an input more time per MiB (timeoutMsPerMiB): 1 MiB, 0.5 s + 3 s/MiB, a child that starts reading after 1.5 s', async () => {
    const late = [process.execPath, '-e', `setTimeout(() => { let n = 0; process.stdin.on('data', (b) => (n += b.length)).on('end', () => process.stdout.write(String(n))); }, 1500)`];
    const input = 'y'.repeat(1 << 20);
    const r = await exec(late, { input, timeoutMs: 500, timeoutMsPerMiB: 3000 });
    expect(r.stderr).toBe('');
    expect([r.code, Number(r.stdout)]).toEqual([0, input.length]);
    const killed = await exec(late, { input, timeoutMs: 500 });
    expect(killed.stderr).toContain('killed: no progress within 500 ms');
  });

  it("counts the chunk before the one just taken: the pipe takes a small chunk while the tool still works on a big one", async () => {
    // Takes the first MiB, works on it 1.5 s, then reads the rest.
    const worker = [
      process.execPath,
      '-e',
      `let n = 0, paused = false; process.stdin.on('data', (b) => { n += b.length;
         if (!paused && n >= ${1 << 20}) { paused = true; process.stdin.pause(); setTimeout(() => process.stdin.resume(), 1500); } })
       .on('end', () => process.stdout.write(String(n)));`,
    ];
    const chunks = ['z'.repeat(1 << 20), 'tail\n'];
    const r = await exec(worker, { inputChunks: chunks, timeoutMs: 500, timeoutMsPerMiB: 3000 });
    expect(r.stderr).toBe('');
    expect([r.code, Number(r.stdout)]).toEqual([0, (1 << 20) + 5]);
  });

  it('a plain time limit (no chunks) still counts from the start', async () => {
    const r = await exec([process.execPath, '-e', 'setTimeout(() => {}, 5000)'], { timeoutMs: 300 });
    expect(r.code).toBe(128);
    expect(r.stderr).toContain('killed: no progress within 300 ms');
  });
});
