// The daemon's code (proxy/, modes/, sync/) never imports the test harness, the stand-in apiserver,
// the benchmarks or the demo: those import the daemon, not the other way round, and the image
// ships only dist/proxy, dist/modes and dist/sync (the Dockerfile deletes the rest).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DAEMON_DIRS = ['proxy', 'modes', 'sync'];
const FORBIDDEN = ['test', 'bench', 'demo'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier of static and dynamic imports and re-exports. */
function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) if (m[1]) out.push(m[1]);
  return out;
}

describe('layout', () => {
  it('the daemon never imports test/, bench/ or demo/', () => {
    const bad: string[] = [];
    for (const file of DAEMON_DIRS.flatMap((d) => tsFiles(join(ROOT, d)))) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const top = relative(ROOT, resolve(dirname(file), spec)).split(/[/\\]/)[0] ?? '';
        if (FORBIDDEN.includes(top)) bad.push(`${relative(ROOT, file)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
