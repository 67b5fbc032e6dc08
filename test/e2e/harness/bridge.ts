// Reaching the test apiserver (root namespace, unix socket) from a daemon in a node namespace.
// forwarder.mjs listens on loopback inside the node namespace and pipes to the unix socket, so
// the root namespace's networking is never touched.

import { spawnReady } from './spawn.js';

export interface ApiserverBridge {
  /** What the daemon should use as its apiserver URL, e.g. http://127.0.0.1:6443 */
  readonly url: string;
  stop(): Promise<void>;
}

export async function apiserverBridge(nodeNs: string, unixSocketPath: string, port = 6443): Promise<ApiserverBridge> {
  const helper = await spawnReady(nodeNs, 'forwarder.mjs', [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--socket',
    unixSocketPath,
  ]);
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await helper.stop();
    },
  };
}
