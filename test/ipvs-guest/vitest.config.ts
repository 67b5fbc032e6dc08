import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// IPVS end-to-end tests: run ONLY inside the kvm-run guest (its kernel has IPVS), by
// scripts/test-ipvs-guest.sh. Files run one at a time (each builds its own namespace cluster);
// timeouts are long because the guest is software-emulated (JavaScript ~10x slower).
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    name: 'ipvs-e2e',
    include: ['test/ipvs-guest/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    // One worker process: the guest has 2 slow vCPUs.
    pool: 'forks',
  },
});
