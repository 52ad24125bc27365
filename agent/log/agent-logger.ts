/**
 * The agent's structured logger: one JSON object per line on stderr.
 *
 * The agent runs inside customer clusters and is built and shipped on its own, so it must not
 * depend on anything under control-plane/. The interface is nevertheless shaped exactly like
 * the control plane's Logger, so a test or an embedding process can hand either one in.
 */
export type AgentLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AgentLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): AgentLogger;
}

export interface AgentLoggerOptions {
  /** Records below this level are dropped. @default process.env.KUBEGATE_LOG_LEVEL or 'info' */
  readonly level?: AgentLogLevel;
  /** Receives each line without its newline. @default writes to process.stderr */
  readonly sink?: (line: string) => void;
}

const LEVEL_ORDER: Record<AgentLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function isLevel(value: string | undefined): value is AgentLogLevel {
  return value !== undefined && Object.prototype.hasOwnProperty.call(LEVEL_ORDER, value);
}

/**
 * Errors do not survive JSON.stringify (their own properties are not enumerable), so they are
 * reduced to what an operator needs: the message and the stable code when there is one.
 */
function serializable(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' ? { message: value.message, code } : { message: value.message };
}

export function createAgentLogger(component: string, options: AgentLoggerOptions = {}): AgentLogger {
  const envLevel = process.env.KUBEGATE_LOG_LEVEL;
  const level: AgentLogLevel = options.level ?? (isLevel(envLevel) ? envLevel : 'info');
  const sink = options.sink ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const threshold = LEVEL_ORDER[level];

  const emit = (lvl: AgentLogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_ORDER[lvl] < threshold) return;
    const record: Record<string, unknown> = { ts: new Date().toISOString(), level: lvl, component, msg };
    // Fields are nested rather than spread so a field called `msg` or `level` cannot overwrite
    // the record's own keys.
    if (fields && Object.keys(fields).length > 0) {
      record.fields = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, serializable(v)]));
    }
    sink(JSON.stringify(record));
  };

  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (sub) => createAgentLogger(`${component}.${sub}`, { level, sink }),
  };
}

/** Drops every record; for tests that assert on behaviour rather than on log lines. */
export const silentAgentLogger: AgentLogger = createAgentLogger('silent', { sink: () => undefined });
