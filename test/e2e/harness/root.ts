// End-to-end tests need root (network namespaces, iptables). Skipping silently would let a broken
// dataplane look green, so a skip is loud, and in CI it is an error.

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * True when the e2e tests can run. Not root: throws when CI=true, otherwise prints a loud warning
 * and returns false so the caller can `describe.skipIf(!requireRoot())`.
 */
export function requireRoot(): boolean {
  if (isRoot()) return true;
  if (process.env['CI'] === 'true') {
    throw new Error('E2E TESTS CANNOT RUN: not root, and CI=true forbids skipping them');
  }
  const bar = '!'.repeat(60);
  process.stderr.write(`\n${bar}\n!!  E2E TESTS SKIPPED: not root\n${bar}\n\n`);
  return false;
}
