/**
 * `kubegate audit --follow`: polls the API for events newer than the last one printed, oldest
 * first, until stopped. It resumes by cursor, so every event is printed once however the polls
 * fall, and a poll that fails because the API is unreachable or unavailable for a moment (a
 * control-plane restart) is reported and retried rather than ending the watch.
 */
import type { StoredAuditEvent } from '../../audit/audit-event';
import type { AuditPageView } from '../../api/api-views';
import { ApiRequestError, ApiUnreachableError, type ApiClient } from '../api-client';

export interface FollowOptions {
  /** The filter as query parameters (without paging). */
  readonly filter: URLSearchParams;
  /** Continue after this seq (the newest event already printed; 0 for none). */
  readonly afterSeq: number;
  readonly intervalMs: number;
  /** Stops the loop (Ctrl-C). */
  readonly signal: AbortSignal;
  onEvents(events: readonly StoredAuditEvent[]): void;
  /** A poll failed and will be retried. */
  onRetry(message: string): void;
}

const PAGE = 1000;

export async function followAudit(client: ApiClient, options: FollowOptions): Promise<void> {
  let position: { cursor: string } | { after: number } = { after: options.afterSeq };
  while (!options.signal.aborted) {
    const query = new URLSearchParams(options.filter);
    query.set('limit', String(PAGE));
    if ('cursor' in position) query.set('cursor', position.cursor);
    else query.set('after', String(position.after));
    let page: AuditPageView;
    try {
      page = await client.get<AuditPageView>(`/audit?${query.toString()}`);
    } catch (err) {
      if (!retryable(err)) throw err;
      options.onRetry(`${(err as Error).message}; retrying`);
      await sleep(options.intervalMs, options.signal);
      continue;
    }
    if (page.events.length > 0) options.onEvents(page.events);
    if (page.nextCursor) position = { cursor: page.nextCursor };
    else if (page.events.length > 0) position = { after: page.events[page.events.length - 1]!.seq };
    // A full page means more are waiting: ask again at once.
    if (page.events.length < PAGE) await sleep(options.intervalMs, options.signal);
  }
}

function retryable(err: unknown): boolean {
  return err instanceof ApiUnreachableError || (err instanceof ApiRequestError && err.status === 503);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
