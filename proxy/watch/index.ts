// Public face of the watch layer.
export { startClusterWatch, SERVICE_SELECTOR, ENDPOINTS_SELECTOR } from './cluster-watch.js';
export type { ClusterWatch, ClusterWatchOptions } from './cluster-watch.js';
export { KubeConfigError, loadKubeConfig } from './kubeconfig.js';
export type { KubeConfigSource } from './kubeconfig.js';
export { DEFAULT_WATCH_BACKOFF } from './backoff.js';
export type { WatchBackoffPolicy } from './backoff.js';
