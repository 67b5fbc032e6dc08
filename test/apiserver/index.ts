// Test-only stand-in kube-apiserver. Never import from production code.
export { TestApiServer } from './server.js';
export type { RejectCode, TestApiServerOptions, UnavailableMode } from './server.js';
export { kubeconfigFor } from './kubeconfig.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export * from './builders.js';
export type { KubeJson } from './history.js';
export type { ResourceName } from './resources.js';
