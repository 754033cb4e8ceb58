import { pino, type Logger } from 'pino';
import { EVENTS, type EventName, type EventType } from './catalogue.js';
import { EventFile } from './event-file.js';

/** One line of the events file. */
export interface RelayEvent {
  time: string;
  id: number;
  type: EventType;
  category: string;
  message: string;
  queueId?: string;
  data?: Record<string, unknown>;
}

export interface EventLogOptions {
  /** The JSON-lines file events are appended to; undefined: no file. */
  file?: string;
  /** pino level for the structured log on stdout; 'silent' for none. */
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Where the structured log goes (default: stdout). */
  destination?: NodeJS.WritableStream;
  /** Where a failing events file is reported (default: stderr). */
  stderr?: NodeJS.WritableStream;
}

const LEVEL: Record<EventType, 'info' | 'warn' | 'error'> = {
  Information: 'info',
  Warning: 'warn',
  Error: 'error',
};

/**
 * The relay's event log: every event is appended to the events file as one JSON line and written
 * to stdout as a structured pino log line. Lines reach the file a few ms later (event-file.ts: the
 * delay is bounded, and a failing file — disk full, permissions — is reported once on stderr,
 * written again when it can be, and never stops the relay).
 */
export class EventLog {
  readonly logger: Logger;
  private readonly file: EventFile | undefined;
  private readonly listeners = new Set<(event: RelayEvent) => void>();

  constructor(options: EventLogOptions = {}) {
    this.logger = pino(
      { level: options.logLevel ?? 'info', base: undefined, messageKey: 'message' },
      options.destination ?? pino.destination({ dest: 1, sync: false }),
    );
    if (options.file) this.file = new EventFile(options.file, options.stderr ?? process.stderr);
  }

  /** Records an event and returns it. */
  emit(
    name: EventName,
    details: { queueId?: string; data?: Record<string, unknown>; detail?: string } = {},
  ): RelayEvent {
    const def = EVENTS[name];
    // a `{name}` in the catalogue text is the value the event carries under that name (3041's limit)
    const text = def.text.replace(/\{(\w+)\}/g, (whole, key: string) =>
      details.data?.[key] === undefined ? whole : String(details.data[key]),
    );
    const event: RelayEvent = {
      time: new Date().toISOString(),
      id: def.id,
      type: def.type,
      category: def.category,
      message: details.detail ? `${text} ${details.detail}` : text,
      ...(details.queueId ? { queueId: details.queueId } : {}),
      ...(details.data ? { data: details.data } : {}),
    };
    this.file?.append(JSON.stringify(event) + '\n');
    this.logger[LEVEL[def.type]](
      { event: def.id, type: def.type, category: def.category, queueId: event.queueId, data: event.data },
      event.message,
    );
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Calls `listener` for every event from now on; returns a function that stops it. */
  subscribe(listener: (event: RelayEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes the events that wait to the file now (readers in this process — the admin API — call
   * it first, so they see every event emitted so far). False when the file cannot be written.
   */
  flush(): boolean {
    return this.file?.flush() ?? true;
  }

  /** Flushes and closes the events file. */
  async close(): Promise<void> {
    this.logger.flush();
    this.file?.close();
  }
}
