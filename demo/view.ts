// The live view of the demo, as pure functions of one second's counts: a table redrawn in place
// on a terminal, one plain line per service per second otherwise (logs, pipes), or one JSON line
// per second for machines (--json; the e2e test reads it).

import { probeTarget, type Probe } from './scenario.js';

/** What one probe saw in one second. */
export interface Row {
  readonly probe: Probe;
  /** Pod names currently in the Service's EndpointSlice. */
  readonly endpoints: readonly string[];
  /** Answers per pod name in the last second. */
  readonly answered: Readonly<Record<string, number>>;
  /** Failed requests per error code in the last second. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface Frame {
  /** Seconds since the traffic started. */
  readonly second: number;
  readonly mode: string;
  readonly rows: readonly Row[];
  /** Recent changes (scaling), newest last. */
  readonly events: readonly string[];
}

/** Per-probe counts for the current second; `add` one traffic result, `take` and start over. */
export class SecondCounts {
  private answered: Record<string, number>[];
  private errors: Record<string, number>[];

  constructor(private readonly probes: number) {
    this.answered = SecondCounts.empty(probes);
    this.errors = SecondCounts.empty(probes);
  }

  private static empty(n: number): Record<string, number>[] {
    return Array.from({ length: n }, () => ({}));
  }

  add(r: { readonly i: number; readonly name?: string; readonly error?: string }): void {
    const into = r.name !== undefined ? this.answered[r.i] : this.errors[r.i];
    const key = r.name ?? r.error ?? 'unknown';
    if (into) into[key] = (into[key] ?? 0) + 1;
  }

  take(): { answered: Record<string, number>[]; errors: Record<string, number>[] } {
    const out = { answered: this.answered, errors: this.errors };
    this.answered = SecondCounts.empty(this.probes);
    this.errors = SecondCounts.empty(this.probes);
    return out;
  }
}

const sorted = (r: Readonly<Record<string, number>>): [string, number][] =>
  Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const counts = (r: Readonly<Record<string, number>>): string =>
  sorted(r)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

const total = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);

export interface TableStyle {
  /** ANSI bold/dim/colours; off when NO_COLOR is set. */
  readonly color: boolean;
  /** Terminal width; long cells are not cut, the table just wraps past it. */
  readonly width?: number;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** A bar of one block per answer (at most 20), so the split between pods is visible at a glance. */
function bar(n: number): string {
  return '█'.repeat(Math.min(n, 20));
}

/** The table, one string per line (no trailing newline), for redrawing in place. */
export function renderTable(f: Frame, style: TableStyle): string[] {
  const c = (code: string, s: string): string => (style.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const head = ['SERVICE', 'KIND', 'FROM → TO', 'ENDPOINTS', 'ANSWERED IN THE LAST SECOND'];
  const cells = f.rows.map((r) => [
    r.probe.service,
    r.probe.kind,
    `${r.probe.from} → ${probeTarget(r.probe)}`,
    r.endpoints.join(' ') || '(none)',
  ]);
  const widths = head.slice(0, 4).map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  const lines = [
    c('1', `kube-proxy-ts demo — mode ${f.mode} — ${f.second} s`) + c('2', '   (Ctrl-C stops and removes everything)'),
    '',
    c('1', head.map((h, i) => (i < 4 ? pad(h, widths[i] ?? 0) : h)).join('  ')),
  ];
  f.rows.forEach((r, idx) => {
    const left = (cells[idx] ?? []).map((s, i) => pad(s, widths[i] ?? 0)).join('  ');
    const answers = sorted(r.answered).map(([pod, n]) => `${c('36', pod)} ${c('32', bar(n))} ${n}`);
    const errs = total(r.errors) > 0 ? [c('31', `errors: ${counts(r.errors)}`)] : [];
    const right = [...answers, ...errs].join('  ') || c('31', 'no answers');
    lines.push(`${left}  ${right}`);
    lines.push(c('2', `${pad('', widths[0] ?? 0)}  ${r.probe.note}`));
  });
  lines.push('');
  for (const e of f.events.slice(-3)) lines.push(c('33', e));
  return lines;
}

/** One line per row, e.g. "[  3s] default/web ClusterIP client → 198.19.0.10:80/TCP endpoints a1,b1 answered a1=5 b1=4". */
export function renderPlain(f: Frame): string[] {
  const t = `[${String(f.second).padStart(3)}s]`;
  return f.rows.map((r) => {
    const errs = total(r.errors) > 0 ? ` errors ${counts(r.errors)}` : '';
    return `${t} ${r.probe.service} (${r.probe.kind}) ${r.probe.from} → ${probeTarget(r.probe)} endpoints ${r.endpoints.join(',') || '-'} answered ${counts(r.answered) || '-'}${errs}`;
  });
}

/** One JSON object per second. */
export function renderJson(f: Frame): string {
  return JSON.stringify({
    event: 'second',
    second: f.second,
    mode: f.mode,
    services: f.rows.map((r) => ({
      service: r.probe.service,
      kind: r.probe.kind,
      from: r.probe.from,
      to: probeTarget(r.probe),
      endpoints: r.endpoints,
      answered: r.answered,
      errors: r.errors,
    })),
  });
}
