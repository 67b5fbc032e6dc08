// Turning iptables-restore's complaints into a RestoreError that names the payload line.
//
// The tools report the line in different words depending on version and backend:
//   "Error occurred at line: 5"            (1.8.x, nft and legacy)
//   "iptables-restore: line 5 failed"      (older releases, some COMMIT failures)
// nft reports a bad rule at COMMIT time, so the line may be the COMMIT of the broken table.

import { RestoreError } from '../runner.js';

const LINE_PATTERNS: readonly RegExp[] = [/Error occurred at line:\s*(\d+)/, /line (\d+) failed/];

export function failedLine(stderr: string): number | undefined {
  for (const re of LINE_PATTERNS) {
    const m = re.exec(stderr);
    if (m?.[1]) return Number(m[1]);
  }
  return undefined;
}

/**
 * The lines `line-1 .. line+1` of the tool's input, each prefixed with its number; `payload`
 * holds that input from line `firstLine` on (a long multi-transaction input keeps only its tail).
 */
export function linesAround(payload: string, line: number, firstLine = 1): string[] {
  const lines = payload.split('\n');
  const last = firstLine + lines.length - 1;
  const out: string[] = [];
  for (let n = Math.max(firstLine, line - 1); n <= Math.min(last, line + 1); n++) {
    out.push(`${n}: ${lines[n - firstLine] ?? ''}`);
  }
  return out;
}

/** Newlines in `text`: the number of complete lines it adds to a restore input. */
export function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * `payload` is the tool's input from line `skipped + 1` on (a long multi-transaction input keeps
 * only its tail); the context is shown when the failing line is inside it.
 */
export function restoreError(
  tool: string,
  code: number,
  stderr: string,
  payload: string,
  skipped = 0,
): RestoreError {
  const line = failedLine(stderr);
  const detail = stderr.trim() || `exit code ${code}`;
  const context = line !== undefined && line > skipped ? linesAround(payload, line, skipped + 1) : undefined;
  const where = line !== undefined ? ` at line ${line}` : '';
  return new RestoreError(`${tool} failed${where} (exit code ${code}): ${detail}`, line, context);
}
