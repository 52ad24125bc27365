/**
 * A logger that also hands every record, whatever its level, to a callback: some figures a
 * benchmark wants (how long the agent took to create a user's ServiceAccount) are only said in
 * the stack's log lines, and turning the whole stack's log level up to read them would make
 * every component format lines it otherwise drops, on the paths being measured.
 */
import type { Logger, LogLevel } from '../control-plane/log/logger';

export type LogTap = (level: LogLevel, msg: string, fields: Record<string, unknown> | undefined) => void;

/** `base` as it is, plus `tap` on every record of it and of its children. Keep `tap` cheap. */
export function tapLogger(base: Logger, tap: LogTap): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    tap(level, msg, fields);
    base[level](msg, fields);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (component) => tapLogger(base.child(component), tap),
  };
}
