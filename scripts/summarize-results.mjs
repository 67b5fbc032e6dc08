// Adds up the vitest JSON reports of every step and prints one closing line
// "tests: N passed, N failed, N skipped"; exits non-zero when any step or test failed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...failedSteps] = process.argv.slice(2);
let passed = 0, failed = 0, skipped = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
  const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A test file that failed to load counts as a failure even though it reports no tests.
  failed += (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0).length;
}
if (failedSteps.length) console.log(`failed steps: ${failedSteps.join(', ')}`);
if (process.env.CI === 'true' && skipped > 0) console.log(`CI: ${skipped} skipped tests count as failures`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || failedSteps.length > 0 || (process.env.CI === 'true' && skipped > 0) ? 1 : 0);
