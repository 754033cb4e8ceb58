import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { EVENTS, type EventName, type EventType } from './catalogue.js';

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

/**
 * How long events wait to be written to the file together: at a thousand messages a second, one
 * write per 10 ms instead of one per turn of the event loop. The events file is a log, not the
 * queue: `close()` writes what waits, and the spool holds every accepted message regardless.
 */
const FILE_FLUSH_MS = 10;

const LEVEL: Record<EventType, 'info' | 'warn' | 'error'> = {
  Information: 'info',
  Warning: 'warn',
  Error: 'error',
};

/**
 * The relay's event log: every event is appended to the events file as one JSON line and written
 * to stdout as a structured pino log line. A failing events file (disk full, permissions) is
 * reported once on stderr and never stops the relay.
 */
export class EventLog {
  readonly logger: Logger;
  private readonly fileStream: fs.WriteStream | undefined;
  private fileFailed = false;
  private corked = false;
  private readonly listeners = new Set<(event: RelayEvent) => void>();
  private readonly stderr: NodeJS.WritableStream;

  constructor(options: EventLogOptions = {}) {
    this.stderr = options.stderr ?? process.stderr;
    this.logger = pino(
      { level: options.logLevel ?? 'info', base: undefined, messageKey: 'message' },
      options.destination ?? pino.destination({ dest: 1, sync: false }),
    );
    if (options.file) {
      const file = options.file;
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
      } catch {
        // reported by the stream's error below
      }
      this.fileStream = fs.createWriteStream(file, { flags: 'a', mode: 0o600 });
      this.fileStream.on('error', (err) => this.fileFailure(file, err));
    }
  }

  private fileFailure(file: string, err: Error): void {
    if (this.fileFailed) return;
    this.fileFailed = true;
    this.stderr.write(
      `ims-relay: cannot write the events file ${file}: ${err.message}; events go to stdout only, mail keeps flowing\n`,
    );
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
    if (this.fileStream && !this.fileFailed) {
      // the events of FILE_FLUSH_MS go to the file in one write
      if (!this.corked) {
        this.corked = true;
        this.fileStream.cork();
        const flush = () => {
          this.corked = false;
          this.fileStream?.uncork();
        };
        setTimeout(flush, FILE_FLUSH_MS);
      }
      this.fileStream.write(JSON.stringify(event) + '\n');
    }
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

  /** Flushes and closes the events file. */
  async close(): Promise<void> {
    this.logger.flush();
    const stream = this.fileStream;
    if (!stream || stream.destroyed) return;
    if (this.corked) {
      this.corked = false;
      stream.uncork();
    }
    await new Promise<void>((resolve) => stream.end(resolve));
  }
}
