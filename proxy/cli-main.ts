// The command line: parse flags and config like upstream kube-proxy, then run the daemon, or
// --cleanup, --version, --help, --write-config-to, or a debugging subcommand. Loaded by main.ts
// (the entry point) once the memory settings and the client-node hook are in place.

import { writeFileSync } from 'node:fs';
import { ConfigError } from './config/errors.js';
import { kubeProxyConfigurationYAML } from './config/configz.js';
import { loadConfig } from './config/load.js';
import { VERSION } from './config/version.js';
import { runCleanup } from './cleanup.js';
import { startDaemon } from './daemon.js';
import { runExplain } from './cli/explain.js';
import { runTrace } from './cli/trace.js';
import { createLogger } from './log.js';
import { KubeConfigError } from './watch/index.js';

/** Debugging subcommands that talk to a running daemon (not part of upstream's CLI). */
const SUBCOMMANDS: Record<string, (argv: readonly string[], out: (s: string) => void) => Promise<number>> = {
  explain: runExplain,
  trace: runTrace,
};
import { applyNodeSetup } from './node-setup.js';

async function main(argv: string[]): Promise<number> {
  const sub = SUBCOMMANDS[argv[0] ?? ''];
  if (sub) {
    try {
      return await sub(argv.slice(1), (s) => process.stdout.write(s));
    } catch (err) {
      process.stderr.write(`kube-proxy-ts ${argv[0]}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }
  let loaded;
  try {
    loaded = loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kube-proxy-ts: ${err.message}\nRun 'kube-proxy-ts --help' for usage.\n`);
      return 1;
    }
    throw err;
  }
  const { config, warnings, action } = loaded;
  if (action === 'help') {
    process.stdout.write(loaded.helpText ?? '');
    return 0;
  }
  if (action === 'version') {
    process.stdout.write(`kube-proxy-ts ${VERSION}\n`);
    return 0;
  }
  if (action === 'write-config') {
    writeFileSync(loaded.writeConfigTo ?? '/dev/stdout', kubeProxyConfigurationYAML(config));
    return 0;
  }
  const logger = createLogger({ format: config.logging.format, verbosity: config.logging.verbosity });
  for (const w of warnings) logger.warn(w);

  if (config.cleanup) return runCleanup(config, logger);
  if (loaded.initOnly) {
    // Upstream's --init-only: do the privileged node set-up, then exit so the long-running
    // container can drop privileges.
    await applyNodeSetup(config, logger);
    return 0;
  }

  let daemon;
  try {
    daemon = await startDaemon(config, logger);
  } catch (err) {
    if (err instanceof KubeConfigError) {
      // Upstream exits too: no retry can make a missing or unparseable file appear.
      logger.error('cannot use the API credentials; exiting', { file: err.file, err: err.message });
      return 1;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('received signal, shutting down', { signal });
      daemon.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error('error during shutdown', { err });
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kube-proxy-ts: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
