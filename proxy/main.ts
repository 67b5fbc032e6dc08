#!/usr/bin/env node
// kube-proxy-ts entry point (`node dist/proxy/main.js`; the package's `kube-proxy-ts` bin and the
// image's ENTRYPOINT run it too). One process: first the hook that keeps client-node's generated
// API out of the daemon (client-node-slim.ts), then V8's heap flags, set at run time
// (memory-settings.ts says why not by re-executing), then the command line and the daemon, loaded
// dynamically so that both are in place before any of it is even parsed. The order matters:
// register() starts the hooks' worker thread, and starting a worker puts V8's flags back to the
// command line's (measured: flags set before it, the young generation grew to 32 MiB anyway).
import { register } from 'node:module';
import { applyRuntimeFlags } from './memory-settings.js';

register('./client-node-slim.js', import.meta.url);
applyRuntimeFlags();
await import('./cli-main.js');
