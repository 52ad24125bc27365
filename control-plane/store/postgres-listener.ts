/**
 * One dedicated PostgreSQL connection that LISTENs on a channel, and keeps doing so.
 *
 * A LISTEN lives and dies with its connection, and notifications sent while no connection
 * listens are gone for good. So when the connection is lost (server restart, failover,
 * pg_terminate_backend, a network cut) this reconnects with capped exponential backoff and,
 * once listening again, reports `onReconnect`: the owner must assume it missed changes and
 * reload. Pool connections cannot serve here: the pool hands a connection to whoever asks
 * next, and that caller's queries would run on the listening session.
 */
import { Client, type ClientConfig, type Notification } from 'pg';
import type { Logger } from '../log/logger';

export interface ListenerBackoff {
  /** First wait after a loss. @default 100 */
  readonly initialMs?: number;
  /** The wait doubles per failed attempt up to this. @default 5000 */
  readonly maxMs?: number;
}

export interface PostgresListenerProps {
  readonly config: ClientConfig;
  /** A plain identifier: it is written into LISTEN unquoted. */
  readonly channel: string;
  readonly onNotification: (payload: string) => void;
  /** Listening again after a loss; notifications may have been missed meanwhile. */
  readonly onReconnect: () => void;
  readonly logger: Logger;
  readonly backoff?: ListenerBackoff;
}

/** What the LISTEN session calls itself in pg_stat_activity, for operators (and tests). */
export const LISTENER_APPLICATION_NAME = 'kubegate-store-listener';

export class PostgresListener {
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(private readonly props: PostgresListenerProps) {
    if (!/^[a-z_][a-z0-9_]*$/.test(props.channel)) throw new Error(`invalid LISTEN channel name ${props.channel}`);
    this.initialMs = Math.max(1, props.backoff?.initialMs ?? 100);
    this.maxMs = Math.max(this.initialMs, props.backoff?.maxMs ?? 5000);
  }

  /** Connects and listens; rejects if the first attempt fails (the caller reports it). */
  async start(): Promise<void> {
    this.client = await this.connect();
  }

  /** True while a connection is listening. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<Client> {
    const client = new Client({ ...this.props.config, application_name: LISTENER_APPLICATION_NAME, keepAlive: true });
    // Handlers go on before connect(): an 'error' event without a handler would crash the
    // process. Events from a client that is not (or no longer) the current one are ignored.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (msg: Notification) => {
      if (msg.channel === this.props.channel) this.props.onNotification(msg.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.props.channel}`);
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  private lost(client: Client, err: Error): void {
    if (client !== this.client || this.closed) return;
    this.client = undefined;
    this.props.logger.warn('store notification connection lost; reconnecting', { err, channel: this.props.channel });
    void client.end().catch(() => undefined);
    this.scheduleReconnect(0);
  }

  private scheduleReconnect(attempt: number): void {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** attempt);
    // Jitter, so replicas that lost the same server do not all come back in the same instant.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.timer = setTimeout(() => void this.reconnect(attempt), delay);
    // A pending reconnect alone should not keep the process alive.
    this.timer.unref();
  }

  private async reconnect(attempt: number): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    let client: Client;
    try {
      client = await this.connect();
    } catch (err) {
      if (this.closed) return;
      this.props.logger.warn('store notification reconnect failed', { err, attempt: attempt + 1 });
      this.scheduleReconnect(attempt + 1);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.props.logger.info('store notification connection restored', { channel: this.props.channel, attempts: attempt + 1 });
    this.props.onReconnect();
  }
}
