// The parts of @kubernetes/client-node the daemon runs, loaded without its generated API
// (../client-node-slim.ts says how and why). Import KubeConfig and ListWatch from here, never from
// the package: the package's own config.js / cache.js would load the whole generated client.

import type { KubeConfig as RealKubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { ListWatch as RealListWatch } from '@kubernetes/client-node/dist/cache.js';
import { importSlim } from '../client-node-slim.js';

const config = (await importSlim('config.js')) as { KubeConfig: typeof RealKubeConfig };
const cache = (await importSlim('cache.js')) as { ListWatch: typeof RealListWatch };

export const KubeConfig = config.KubeConfig;
export type KubeConfig = RealKubeConfig;
export const ListWatch = cache.ListWatch;
export type ListWatch<T extends import('@kubernetes/client-node').KubernetesObject> = RealListWatch<T>;
