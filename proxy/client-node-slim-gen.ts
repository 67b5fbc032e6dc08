// Stand-in for client-node's gen/index.js when imported by its config.js (see client-node-slim.ts):
// the two names config.js imports, from the small modules that define them.
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
