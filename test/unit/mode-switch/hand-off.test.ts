// userspace mode's hand-over on stop (proxy/mode-switch.ts): the kernel rules must be in before the
// portals go, or new connections would meet neither for a moment; and if the kernel rules cannot
// be written, the portals stay. The packet-level proof is test/e2e/mode-switch.test.ts
// (userspace → iptables, userspace → nftables).

import { describe, expect, it } from 'vitest';
import type { CleanupOptions, Dataplane, SyncRequest } from '../../../modes/dataplane.js';
import { defaultConfig } from '../../../proxy/config/load.js';
import { memoryLogger } from '../../../proxy/log.js';
import { handOffToKernelRules } from '../../../proxy/mode-switch.js';
import type { ProxyState } from '../../../proxy/model/types.js';
import { ProxyMetrics } from '../../../sync/metrics.js';
import { nodeInfo } from '../model/fixtures.js';

const emptyState = (): ProxyState => ({ services: new Map(), endpoints: new Map(), node: nodeInfo() });

function recorder(calls: string[], name: string, failSync = false): Dataplane {
  return {
    mode: name,
    async sync(req: SyncRequest) {
      calls.push(`${name}.sync full=${req.full}`);
      if (failSync) throw new Error('iptables-restore: exit status 1');
      return { full: true, stats: {} };
    },
    async cleanup(o?: CleanupOptions) {
      calls.push(`${name}.cleanup active=${o?.active}`);
      return { removed: { chains: 4, rules: 4 } };
    },
    async close() {
      calls.push(`${name}.close`);
    },
  };
}

function deps() {
  const { logger, lines } = memoryLogger();
  return { deps: { config: defaultConfig(), logger, metrics: new ProxyMetrics({ processMetrics: false }), families: ['IPv4' as const], nodeIPs: () => [] }, lines };
}

describe('userspace hand-over to kernel rules', () => {
  it('writes the kernel rules (a full sync) before removing the portals, and logs what went', async () => {
    const calls: string[] = [];
    const { deps: d, lines } = deps();
    let kernelMode = '';
    await handOffToKernelRules(emptyState(), recorder(calls, 'userspace'), d, async (kd) => {
      kernelMode = kd.config.mode;
      return recorder(calls, 'iptables');
    });
    expect(kernelMode).toBe('iptables');
    expect(calls).toEqual(['iptables.sync full=true', 'iptables.close', 'userspace.cleanup active=iptables']);
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r['msg'] === 'handed the services over to iptables rules until the next proxy starts');
    expect(line).toMatchObject({ chains: 4, rules: 4, services: 0 });
  });

  it('keeps the portals when the kernel rules cannot be written', async () => {
    const calls: string[] = [];
    const { deps: d } = deps();
    await expect(handOffToKernelRules(emptyState(), recorder(calls, 'userspace'), d, async () => recorder(calls, 'iptables', true))).rejects.toThrow(/iptables-restore/);
    expect(calls).toEqual(['iptables.sync full=true', 'iptables.close']);
  });
});
