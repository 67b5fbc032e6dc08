// Test-only, loaded with `node --import` into a daemon: once the daemon has started (2 s later:
// preloads run before the entry point, whose modules load asynchronously), allocates garbage of which a share survives a few
// scavenges, the pattern that makes V8 grow its young generation (by default up to 16 MiB
// semi-spaces), then writes the young generation's size in bytes to $KPT_YOUNG_GEN_OUT.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

setTimeout(() => {
  let ring = new Array(50_000);
  for (let i = 0; i < 3_000_000; i++) ring[i % ring.length] = { i, s: `x${i}` };
  ring = [];
  const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  writeFileSync(process.env['KPT_YOUNG_GEN_OUT'], String(young?.space_size ?? -1));
}, 2000).unref();
