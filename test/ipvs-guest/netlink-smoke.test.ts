// The IpvsClient netlink smoke check (netlink-smoke.mjs: every change made through IpvsClient and
// compared with ipvsadm's view) run in a fresh network namespace of the guest, so its IPVS table
// starts empty and the guest's own is never touched.

import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { nsExec, requireRoot } from '../e2e/harness/index.js';
import { exec } from '../../modes/shared/exec.js';
import { inIpvsGuest } from './ipvs-helpers.js';

const SCRIPT = fileURLToPath(new URL('./netlink-smoke.mjs', import.meta.url));

describe.skipIf(!requireRoot() || !inIpvsGuest())('IpvsClient against the kernel (netlink-smoke.mjs)', () => {
  const ns = `kpt${randomBytes(2).toString('hex')}-smoke`;
  afterAll(async () => {
    await exec(['ip', 'netns', 'del', ns]);
  });

  it('agrees with ipvsadm on every operation', async () => {
    expect((await exec(['ip', 'netns', 'add', ns])).code).toBe(0);
    // With lo down the namespace has no local routes, and the kernel refuses Masq destinations
    // (EINVAL: "address not unicast") — ipvsadm too.
    expect((await exec(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])).code).toBe(0);
    const r = await nsExec(ns, [process.execPath, SCRIPT], { timeoutMs: 120_000, env: { ...process.env, IPVS_SMOKE_FORCE: '1' } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/netlink-smoke: all \d+ checks passed/);
  });
});
