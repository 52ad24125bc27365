/**
 * The `watch` listeners of one store instance. A listener runs after the transaction has
 * committed, so an exception in it cannot undo the change or turn the caller's successful call
 * into a failure; it is logged and the other listeners still run.
 */
import { silentLogger, type Logger } from '../log/logger';
import type { StoreChange } from './store';

export class ChangeListeners {
  // Each watch() call gets its own entry, so the same function registered twice is called
  // twice and each returned stop function removes only its own registration.
  private readonly entries = new Set<{ readonly listener: (change: StoreChange) => void }>();

  constructor(private readonly logger: Logger = silentLogger) {}

  add(listener: (change: StoreChange) => void): () => void {
    const entry = { listener };
    this.entries.add(entry);
    return () => {
      this.entries.delete(entry);
    };
  }

  emit(change: StoreChange): void {
    for (const entry of [...this.entries]) {
      try {
        entry.listener(change);
      } catch (err) {
        this.logger.error('store watch listener threw', { err, generation: change.generation });
      }
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
