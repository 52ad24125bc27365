/**
 * Structured logging: one JSON object per line on stderr, so a person can read it and a
 * machine can parse it. Fields are flat; `component` says which part of kubegate spoke.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  /** @default process.env.KUBEGATE_LOG_LEVEL or 'info' */
  readonly level?: LogLevel;
  /** Where lines go. @default process.stderr */
  readonly sink?: (line: string) => void;
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const envLevel = process.env.KUBEGATE_LOG_LEVEL as LogLevel | undefined;
  const level = options.level ?? (envLevel && envLevel in LEVEL_ORDER ? envLevel : 'info');
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const threshold = LEVEL_ORDER[level];

  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVEL_ORDER[lvl] < threshold) return;
    const record: Record<string, unknown> = { ts: new Date().toISOString(), level: lvl, component, msg };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) record[k] = v instanceof Error ? v.message : v;
    }
    sink(JSON.stringify(record));
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (sub) => createLogger(`${component}.${sub}`, { level, sink }),
  };
}

/** A logger that drops everything; for tests that assert on behaviour, not on log lines. */
export const silentLogger: Logger = createLogger('silent', { sink: () => undefined });
