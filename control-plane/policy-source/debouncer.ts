/**
 * Runs an action once things have been quiet for a while. A `git checkout` or an editor's save
 * produces a burst of file-system events; reading the directory in the middle of the burst
 * would see half a change (and report errors that are gone a moment later), so the watcher
 * waits for the burst to end and then reads once.
 */
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly action: () => void,
  ) {}

  /** (Re)starts the quiet period; the action runs when it ends without another trigger. */
  trigger(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.action();
    }, this.delayMs);
  }

  /** Drops a pending run. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
