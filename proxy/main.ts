#!/usr/bin/env node
// kube-proxy-ts entry point (`node dist/proxy/main.js`; the package's `kube-proxy-ts` bin and the
// image's ENTRYPOINT run it too). One process: first V8's heap flags, set at run time
// (memory-settings.ts says why not by re-executing), then the command line and the daemon, loaded
// dynamically so that the flags are in place before any of it is even parsed.
import { applyRuntimeFlags } from './memory-settings.js';

applyRuntimeFlags();
await import('./cli-main.js');
