// package-lock.json must carry an entry for every optional dependency of every locked package,
// including the ones for other platforms (rollup's and esbuild's native binaries): `npm ci` with
// npm 11 rejects a lock file that lacks them ("Missing: @rollup/rollup-android-arm-eabi ... from
// lock file"), and npm 11 itself can write such a file when it updates a lock next to an existing
// node_modules. This is the offline half of the proof; scripts/check-npm-ci.sh runs `npm ci` with
// npm 10 and npm 11 on a clean clone.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface LockedPackage {
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

interface Lock {
  readonly lockfileVersion: number;
  readonly packages: Readonly<Record<string, LockedPackage>>;
}

const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as LockedPackage;

/** The lock key `name` resolves to from package `from` (node's lookup: nearest node_modules up). */
function resolveFrom(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[key] !== undefined) return key;
    if (dir === '') return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

describe('package-lock.json', () => {
  it('is a version 3 lock file in step with package.json', () => {
    expect(lock.lockfileVersion).toBe(3);
    const root = lock.packages[''];
    expect(root?.dependencies).toEqual(pkg.dependencies);
    expect(root?.devDependencies).toEqual(pkg.devDependencies);
  });

  it('has an entry for every optional dependency of every locked package, on every platform', () => {
    const missing: string[] = [];
    for (const [key, p] of Object.entries(lock.packages)) {
      for (const name of Object.keys(p.optionalDependencies ?? {})) {
        if (resolveFrom(key, name) === undefined) missing.push(`${name} (optional dependency of ${key || 'the root'})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has an entry for every (non-optional) dependency too', () => {
    const missing: string[] = [];
    for (const [key, p] of Object.entries(lock.packages)) {
      for (const name of Object.keys(p.dependencies ?? {})) {
        if (resolveFrom(key, name) === undefined) missing.push(`${name} (dependency of ${key || 'the root'})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
