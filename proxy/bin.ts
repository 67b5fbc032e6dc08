#!/usr/bin/env node
// The package's `kube-proxy-ts` bin. Unlike `node dist/proxy/main.js`, whose static imports load
// the whole daemon (~65 MB RSS) before launcher.ts can decide to re-execute, this entry loads only
// the launcher first: when it re-executes with the image's memory settings, the supervising parent
// stays a bare Node process (~45 MB), and the child (or this process, when nothing is missing)
// then loads main.js.
import './launcher.js';

await import('./main.js');
