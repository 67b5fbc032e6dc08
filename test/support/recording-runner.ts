// An IptablesRunner double that records every restore and save and applies nothing: for tests
// that look at the payloads a dataplane sends (userspace, iptables partial syncs). save() returns
// what saveOutput holds for the family, or an empty nat table.

import type { IptablesRunner, Table } from '../../modes/iptables/runner.js';
import { parseSave } from '../../modes/iptables/save-parse.js';
import type { IPFamily } from '../../proxy/model/types.js';

export interface RecordingRunner extends IptablesRunner {
  readonly restores: Array<{ family: IPFamily; payload: string }>;
  readonly saves: Array<{ family: IPFamily; table: Table | undefined }>;
  /** What save() returns per family (listChain() answers from the same text). */
  readonly saveOutput: Map<IPFamily, string>;
  readonly listed: Array<{ family: IPFamily; table: Table; chain: string }>;
}

export function recordingRunner(): RecordingRunner {
  const restores: RecordingRunner['restores'] = [];
  const saves: RecordingRunner['saves'] = [];
  const saveOutput = new Map<IPFamily, string>();
  const listed: RecordingRunner['listed'] = [];
  const savedText = (family: IPFamily): string => saveOutput.get(family) ?? '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
  return {
    backend: 'nft',
    restores,
    saves,
    saveOutput,
    listed,
    async restore(family, payload) {
      restores.push({ family, payload });
    },
    async restoreEach(family, payloads) {
      for (const payload of payloads) restores.push({ family, payload });
    },
    async save(family, table) {
      saves.push({ family, table });
      return savedText(family);
    },
    async listChain(family, table, chain) {
      listed.push({ family, table, chain });
      return parseSave(savedText(family)).get(table)?.get(chain);
    },
  };
}

/** The payloads restored so far, in order. */
export const payloads = (r: RecordingRunner): string[] => r.restores.map((x) => x.payload);
