// Assembles the daemon: model store ← watch, bounded-frequency runner → sync loop → dataplane,
// and the health and metrics servers. Constructors only wire objects; start() does the I/O.

import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { createDataplane } from '../modes/registry.js';
import type { Dataplane } from '../modes/dataplane.js';
import { ProxyMetrics } from '../sync/metrics.js';
import { BoundedFrequencyRunner } from '../sync/runner.js';
import { fullGcFunction, IdleCollector } from './idle-gc.js';
import { SyncLoop } from '../sync/sync-loop.js';
import { countingSink } from './change-counter.js';
import { toKubeProxyConfiguration } from './config/configz.js';
import { syncPeriods } from './config/load.js';
import type { ProxyConfig } from './config/types.js';
import { debugState } from './debug-state.js';
import { explainService } from './explain.js';
import { startHealthzServer } from './health/healthz-server.js';
import { ProxyHealth } from './health/proxy-health.js';
import { ServiceHealthServers } from './health/service-health.js';
import { startMetricsServer } from './http/metrics-server.js';
import type { Logger } from './log.js';
import { ModelStore } from './model/store.js';
import type { IPFamily, ProxyState } from './model/types.js';
import { handOffToKernelRules, removeOtherModesLeftovers } from './mode-switch.js';
import { localAddresses } from './node-ips.js';
import { checkNodeKernel } from './node-checks.js';
import { applyNodeSetup, applyOomScoreAdj } from './node-setup.js';
import { HealthTargetTracker } from './service-health-targets.js';
import { loadKubeConfig, startClusterWatch } from './watch/index.js';

export interface RunningDaemon {
  readonly nodeName: string;
  readonly dataplane: Dataplane;
  stop(): Promise<void>;
}

export function nodeNameOf(config: ProxyConfig): string {
  return (config.hostnameOverride || hostname()).trim().toLowerCase();
}

/** IPv6 is proxied when the kernel (this network namespace) has it. */
export function detectFamilies(): IPFamily[] {
  return existsSync('/proc/net/if_inet6') ? ['IPv4', 'IPv6'] : ['IPv4'];
}

export async function startDaemon(config: ProxyConfig, logger: Logger): Promise<RunningDaemon> {
  const nodeName = nodeNameOf(config);
  const families = config.mode === 'noop' ? (['IPv4'] as IPFamily[]) : detectFamilies();
  const metrics = new ProxyMetrics();
  const { syncPeriodMs, minSyncPeriodMs } = syncPeriods(config);
  logger.info('starting kube-proxy-ts', { mode: config.mode, node: nodeName, families, syncPeriodMs, minSyncPeriodMs });
  // First, as upstream builds its client before anything else: unusable credentials stop the
  // daemon here (KubeConfigError) instead of being retried forever by the informers.
  const kubeConfig = loadKubeConfig({ kubeconfig: config.kubeconfig, master: config.master });

  await applyOomScoreAdj(config.oomScoreAdj, logger);
  await applyNodeSetup(config, logger);
  await checkNodeKernel(config.mode, logger);

  const deps = { config, logger, metrics, families, nodeIPs: localAddresses };
  const dataplane = await createDataplane(config.mode, deps);
  const store = new ModelStore({ nodeName, logger });
  const health = new ProxyHealth({ healthTimeoutMs: 2 * syncPeriodMs });
  const serviceHealth = new ServiceHealthServers({ health, logger, bindHost: config.bindAddress === '0.0.0.0' ? undefined : config.bindAddress });
  const healthTargets = new HealthTargetTracker();
  let initialListsDone = false;
  // Once, after this mode's first successful sync: the other modes' leftovers go (mode switch).
  let leftoversRemoved = false;
  let leftovers: Promise<void> = Promise.resolve();
  // userspace mode hands this over to kernel rules when it stops (see mode-switch.ts).
  let lastSynced: ProxyState | undefined;

  // Memory back to the OS after the first sync and after bursts of churn (idle-gc.ts says why).
  const gc = fullGcFunction();
  const idleGc = gc ? new IdleCollector({ idleMs: 1000, minIntervalMs: 10_000, collect: gc }) : undefined;

  const loop = new SyncLoop({
    source: store,
    dataplane,
    metrics,
    logger,
    families,
    ready: () => initialListsDone,
    observers: [
      {
        synced: (state: ProxyState, _result, { changes, full }) => {
          health.updated();
          health.setNodeEligible(state.node.eligible);
          lastSynced = state;
          idleGc?.noteActivity();
          // Only the changed service ports on a partial sync: no walk over every Service.
          const update = healthTargets.update(state, changes, full);
          void (update.full ? serviceHealth.sync(update.targets) : serviceHealth.update(update.changed));
          if (!leftoversRemoved) {
            leftoversRemoved = true;
            // Not awaited: the sync loop goes on meanwhile (each cleanup touches only its own mode).
            leftovers = removeOtherModesLeftovers(config.mode, deps).finally(() => idleGc?.noteActivity());
          }
        },
      },
    ],
  });
  const runner = new BoundedFrequencyRunner({
    name: 'sync-proxy-rules',
    minIntervalMs: minSyncPeriodMs,
    maxIntervalMs: syncPeriodMs,
    fn: loop.run,
    logger,
    onQueued: () => {
      health.queuedUpdate();
      for (const f of families) metrics.lastQueuedTimestamp.set({ ip_family: f }, Date.now() / 1000);
    },
  });

  const healthz = await startHealthzServer({ bindAddress: config.healthzBindAddress, health, metrics, logger });
  const metricsServer = config.metricsBindAddress
    ? await startMetricsServer({
        bindAddress: config.metricsBindAddress,
        metrics,
        mode: config.mode,
        logger,
        configz: () => toKubeProxyConfiguration(config),
        debugState: async () => debugState({ config, nodeName, loop, store, runner, dataplane }),
        explain: (service) => explainService(loop.current(), dataplane, service),
        rules: async (family) => dataplane.rules?.(family),
      })
    : undefined;

  logger.info('serving health checks', { address: `${healthz.host}:${healthz.port}`, paths: '/healthz,/livez' });
  if (metricsServer) {
    logger.info('serving metrics', {
      address: `${metricsServer.host}:${metricsServer.port}`,
      paths: '/metrics,/configz,/proxyMode,/debug/state,/debug/memory',
    });
  }

  const watch = startClusterWatch({
    kubeConfig,
    nodeName,
    useEndpoints: config.useEndpoints,
    resyncPeriodMs: config.configSyncPeriodMs,
    sink: countingSink(store, metrics, () => {
      if (initialListsDone) runner.run();
    }),
    logger,
    onSynced: () => {
      initialListsDone = true;
      logger.info('initial lists received; starting the sync loop');
      runner.start();
    },
  });

  return {
    nodeName,
    dataplane,
    async stop() {
      await watch.stop();
      await runner.stop();
      idleGc?.stop();
      await serviceHealth.close();
      await healthz.close();
      await metricsServer?.close();
      // A removal still running could delete the handed-over rules (they reuse the old names).
      await leftovers;
      if (config.mode === 'userspace' && lastSynced) {
        await handOffToKernelRules(lastSynced, dataplane, deps).catch((err: unknown) =>
          logger.warn('could not hand the services over to iptables rules; they fail until the next proxy syncs', { err }),
        );
      }
      await dataplane.close?.();
      logger.info('stopped; proxy rules are left in place');
    },
  };
}
