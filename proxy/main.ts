#!/usr/bin/env node
// kube-proxy-ts entry point (`node dist/proxy/main.js`, the package's `kube-proxy-ts` bin, the
// image's ENTRYPOINT). It loads only the launcher first: when the launcher re-executes the process
// with the image's memory settings, this parent stays a bare Node process supervising the child
// (~45 MB RSS instead of ~110 MB with the whole daemon loaded), and the child (or this process,
// when nothing is missing) then loads the command line, after installing the hook that keeps
// client-node's generated API out of it (client-node-slim.ts).
import { register } from 'node:module';
import './launcher.js';

register('./client-node-slim.js', import.meta.url);
await import('./cli-main.js');
