// Test-only, loaded with `node --import`: records the URL of every ES module the process loads in
// $KPT_RECORD_LOADS_DIR/<pid>, one a line, so a test can tell which modules a daemon loaded.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
import { appendFileSync } from 'node:fs';
const file = ${JSON.stringify(`${process.env['KPT_RECORD_LOADS_DIR']}/${process.pid}`)};
export async function load(url, context, next) {
  appendFileSync(file, url + '\\n');
  return next(url, context);
}
`),
);
