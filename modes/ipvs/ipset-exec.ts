// Adapter for the ipset tool: one `ipset restore -exist` per sync (stdin, argv only), `ipset save`
// to learn what a previous process left, and destroy for cleanup.

import { execOk, exec as defaultExec, type Exec } from '../shared/exec.js';

export interface IpsetRunner {
  restore(payload: string): Promise<void>;
  /** `ipset save` output for every set (empty when there are none). */
  save(): Promise<string>;
  /** Existing set names (`ipset list -n`). */
  list(): Promise<string[]>;
  /** Destroy one set; a missing set is not an error. */
  destroy(name: string): Promise<void>;
}

export function createIpsetRunner(run: Exec = defaultExec): IpsetRunner {
  return {
    async restore(payload) {
      await execOk(['ipset', 'restore', '-exist'], { input: payload }, run);
    },
    async save() {
      return (await execOk(['ipset', 'save'], undefined, run)).stdout;
    },
    async list() {
      const r = await execOk(['ipset', 'list', '-n'], undefined, run);
      return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    },
    async destroy(name) {
      const r = await run(['ipset', 'destroy', name]);
      if (r.code !== 0 && !/does not exist/i.test(r.stderr)) {
        throw new Error(`ipset destroy ${name}: ${r.stderr.trim()}`);
      }
    },
  };
}
