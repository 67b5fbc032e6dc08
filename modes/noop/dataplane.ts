// The dry-run dataplane: programs nothing and logs, per sync, what a real dataplane would change.
// It lets the daemon (and the demo) run without privileges while exercising the whole control path.

import type { Logger } from '../../proxy/log.js';
import type { Endpoint, ServicePort } from '../../proxy/model/types.js';
import type { Dataplane, SyncRequest, SyncResult } from '../dataplane.js';

export interface NoopDataplaneOptions {
  readonly logger: Logger;
}

export function createNoopDataplane(opts: NoopDataplaneOptions): Dataplane {
  const log = opts.logger.with({ mode: 'noop' });
  let programmed = new Map<string, string>();

  return {
    mode: 'noop',
    async sync(req: SyncRequest): Promise<SyncResult> {
      const next = new Map<string, string>();
      const keys = req.full ? [...req.state.services.keys()] : [...req.changes.changed];
      let changed = 0;
      for (const [key, sp] of req.state.services) next.set(key, describeLine(sp, req.state.endpoints.get(key) ?? []));
      for (const key of keys) {
        const line = next.get(key);
        if (line === undefined) {
          if (programmed.has(key)) log.info('would remove service port', { service: key });
          else continue;
        } else if (programmed.get(key) !== line) {
          log.info('would program service port', { service: key, rules: line });
        } else continue;
        changed++;
      }
      // On a full sync also report ports that vanished without being listed as changed.
      if (req.full) {
        for (const key of programmed.keys()) {
          if (!next.has(key)) {
            log.info('would remove service port', { service: key });
            changed++;
          }
        }
      }
      programmed = next;
      return { full: req.full, stats: { servicePorts: next.size, changed } };
    },
    async cleanup(): Promise<void> {
      log.info('noop dataplane: nothing to clean up');
    },
    async describe(key: string): Promise<unknown> {
      return { mode: 'noop', service: key, wouldProgram: programmed.get(key) ?? null };
    },
  };
}

function describeLine(sp: ServicePort, eps: readonly Endpoint[]): string {
  const vips = [
    ...sp.clusterIPs.map((ip) => `${ip}:${sp.port}`),
    ...(sp.nodePort ? [`<node>:${sp.nodePort}`] : []),
    ...sp.externalIPs.map((ip) => `${ip}:${sp.port}`),
    ...sp.loadBalancerIPs.map((ip) => `${ip}:${sp.port}`),
  ];
  const targets = eps
    .filter((e) => e.ready || (e.serving && e.terminating))
    .map((e) => `${e.ip.includes(':') ? `[${e.ip}]` : e.ip}:${e.port}${e.ready ? '' : '(terminating)'}`);
  return `${sp.protocol} ${vips.join(',')} -> ${targets.length ? targets.join(',') : 'no endpoints (reject)'}`;
}
