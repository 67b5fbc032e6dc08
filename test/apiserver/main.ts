// Standalone test apiserver for the demo: serves the sample cluster until SIGINT/SIGTERM.
//
//   node dist/test/apiserver/main.js --port 6443 --kubeconfig-out /tmp/kc.yaml [--token T]
//        [--unix-socket /run/api.sock] [--https] [--churn] [--churn-interval-ms 3000]
//        [--node-name node-a] [--node-ip 198.18.0.10]

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kubeconfigFor } from './kubeconfig.js';
import { churnedWebSlice, sampleObjects } from './samples.js';
import { TestApiServer } from './server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'kubeconfig-out': { type: 'string' },
      token: { type: 'string' },
      'unix-socket': { type: 'string' },
      https: { type: 'boolean', default: false },
      churn: { type: 'boolean', default: false },
      'churn-interval-ms': { type: 'string', default: '3000' },
      'node-name': { type: 'string', default: 'node-a' },
      'node-ip': { type: 'string', default: '198.18.0.10' },
    },
    strict: true,
  });
  const nodeName = values['node-name'];
  const server = await TestApiServer.start({
    port: Number(values.port),
    https: values.https,
    ...(values.token !== undefined ? { token: values.token } : {}),
    ...(values['unix-socket'] !== undefined ? { unixSocket: values['unix-socket'] } : {}),
  });
  for (const o of sampleObjects({ nodeName, nodeIP: values['node-ip'] })) server.create(o);
  if (values['kubeconfig-out']) writeFileSync(values['kubeconfig-out'], kubeconfigFor(server), { mode: 0o600 });

  let churn: NodeJS.Timeout | undefined;
  if (values.churn) {
    let ready = true;
    churn = setInterval(() => {
      ready = !ready;
      server.update(churnedWebSlice(nodeName, ready));
      process.stdout.write(`churn: web endpoint 198.18.1.11 ready=${ready}\n`);
    }, Number(values['churn-interval-ms']));
  }

  // One machine-readable line first, so scripts can wait for it and read the URL.
  process.stdout.write(
    JSON.stringify({ url: server.url, unixSocket: server.unixSocketPath ?? null, kubeconfig: values['kubeconfig-out'] ?? null }) + '\n',
  );

  const shutdown = (): void => {
    if (churn) clearInterval(churn);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`test apiserver: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
