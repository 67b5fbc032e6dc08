import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readVersion, VERSION, versionLine } from '../../../proxy/config/version.js';

const tmp = mkdtempSync(join(tmpdir(), 'kp-version-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('version', () => {
  it('is the version in the repository package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(versionLine()).toBe(`kube-proxy-ts v${pkg.version}`);
  });

  it('walks up past unrelated package.json files, as from dist/proxy/config', () => {
    writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'kube-proxy-ts', version: '9.8.7' }));
    const deep = join(tmp, 'dist', 'proxy', 'config');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(tmp, 'dist', 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }));
    expect(readVersion(deep)).toBe('9.8.7');
  });
});
