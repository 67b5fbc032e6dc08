// The program version, read from package.json at runtime. Sources run from proxy/config/ (vitest)
// and compiled code from dist/proxy/config/, so walk up from this module until package.json is found
// rather than assuming a fixed depth.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'kube-proxy-ts';

export function readVersion(startDir: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = startDir;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg: unknown = JSON.parse(readFileSync(candidate, 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === PACKAGE_NAME && 'version' in pkg && typeof pkg.version === 'string') {
        return pkg.version;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

export const VERSION: string = readVersion();

/** What --version prints. */
export function versionLine(): string {
  return `${PACKAGE_NAME} v${VERSION}`;
}
