// Structured logging: one line per record with a level, a message and fields.
// Text format mimics klog's key=value style; JSON format is one object per line.
// Verbosity follows klog: info(v, ...) lines are printed only when v <= the configured -v.

export type Level = 'info' | 'warn' | 'error';
export type Fields = Readonly<Record<string, unknown>>;
export type LogFormat = 'text' | 'json';

export interface Logger {
  info(msg: string, fields?: Fields): void;
  /** Info at a klog verbosity level: printed only when `v` <= the configured verbosity. */
  v(level: number, msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines all carry `fields` too. */
  with(fields: Fields): Logger;
}

export interface LogSink {
  write(line: string): void;
}

const stderrSink: LogSink = { write: (line) => process.stderr.write(line + '\n') };

export interface LoggerOptions {
  readonly format?: LogFormat;
  readonly verbosity?: number;
  readonly sink?: LogSink;
}

export function createLogger(opts: LoggerOptions = {}, base: Fields = {}): Logger {
  const format = opts.format ?? 'text';
  const verbosity = opts.verbosity ?? 0;
  const sink = opts.sink ?? stderrSink;
  const emit = (level: Level, msg: string, fields: Fields | undefined): void => {
    const all = { ...base, ...(fields ?? {}) };
    sink.write(format === 'json' ? jsonLine(level, msg, all) : textLine(level, msg, all));
  };
  return {
    info: (msg, fields) => emit('info', msg, fields),
    v: (level, msg, fields) => {
      if (level <= verbosity) emit('info', msg, { v: level, ...(fields ?? {}) });
    },
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    with: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

function jsonLine(level: Level, msg: string, fields: Fields): string {
  return JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }, errorReplacer);
}

function textLine(level: Level, msg: string, fields: Fields): string {
  const parts = [new Date().toISOString(), level.toUpperCase(), JSON.stringify(msg)];
  for (const [k, v] of Object.entries(fields)) parts.push(`${k}=${formatValue(v)}`);
  return parts.join(' ');
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[\w.:/@-]+$/.test(v) ? v : JSON.stringify(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v, errorReplacer) ?? 'undefined';
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}

/**
 * Fields for logging a failure: the error's message, plus the `context` lines an error may carry
 * (iptables-restore's failing payload lines), so one log line tells the whole story and the
 * place that threw does not need a line of its own.
 */
export function errorFields(err: unknown): Record<string, unknown> {
  const context = (err as { context?: unknown } | null)?.context;
  return Array.isArray(context) ? { err, context } : { err };
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ sink: { write: () => undefined } });

/** A logger that records lines in memory, for tests that assert on logs. */
export function memoryLogger(verbosity = 10): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ format: 'json', verbosity, sink: { write: (l) => lines.push(l) } }), lines };
}
