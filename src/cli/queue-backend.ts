/**
 * Where the queue commands do their work: through the admin API of the relay that runs on the
 * spool (so they are safe while it runs and it hears about them), or — when no relay runs —
 * directly on the spool files, holding the spool lock meanwhile.
 */
import { QueueService, type DetailResult, type RawResult } from '../queue/queue-service.js';
import { parseQueueFilter, queueFilterQuery, type QueueQuery } from '../queue/queue-query.js';
import type { OperationResult, QueueItem } from '../spool/queue-operations.js';
import { readRuntimeInfo } from '../spool/runtime-info.js';
import { acquireSpoolLock } from '../spool/spool-lock.js';
import type { QueueToolConfig } from './tool-config.js';
import { parallelWalkAvailable, walkFolderInParallel } from './parallel-walk.js';
import { formatItems, type ListFormat } from './queue-list-format.js';
import { Spool, type QueueFolder } from '../spool/spool.js';

export type Operation = 'retry' | 'replay' | 'hold' | 'release' | 'delete';

/**
 * Items asked for a page when the listing goes through the running relay. A page is one JSON
 * document the relay builds in memory (about 330 KB for 1,000 items): listing 100,000 grew the
 * relay's RSS by 3.7–4.0 MB with 1,000 a page, 2.2–2.3 MB with 500; the listing took about as long.
 */
const WALK_PAGE = 500;

export interface QueueBackend {
  /** Where the work is done, for messages: "the relay (PID 12, http://…)" or "the spool /x". */
  readonly where: string;
  list(folder: QueueFolder): Promise<{ total: number; items: QueueItem[] }>;
  /**
   * Every matching entry of a folder, oldest first, handed over a few at a time as they are read
   * (so the output streams); resolves with the folder's entry count.
   */
  walk(folder: QueueFolder, query: QueueQuery, each: (items: QueueItem[]) => void): Promise<number>;
  /**
   * `walk` with the items formatted (queue-list-format.ts), a run of items at a time with their
   * number, where the backend can do better than format what `walk` gives (the spool read on two
   * threads: each formats what it reads).
   */
  walkFormatted?(
    folder: QueueFolder,
    query: QueueQuery,
    format: ListFormat,
    each: (text: string, count: number) => void,
  ): Promise<number>;
  count(folder: QueueFolder, query: QueueQuery): Promise<number>;
  show(queueId: string): Promise<DetailResult>;
  raw(queueId: string): Promise<RawResult>;
  apply(op: Operation, queueId: string): Promise<OperationResult>;
  close(): void;
}

class LocalBackend implements QueueBackend {
  private readonly service: QueueService;
  constructor(
    spool: Spool,
    private readonly release: () => void,
  ) {
    this.service = new QueueService(spool);
  }
  get where(): string {
    return `the spool ${this.service.spool.dir}`;
  }
  list(folder: QueueFolder) {
    return this.service.list(folder);
  }
  async walk(folder: QueueFolder, query: QueueQuery, each: (items: QueueItem[]) => void) {
    const filter = parseQueueFilter(query);
    if (typeof filter === 'string') throw new Error(filter);
    return this.service.walk(folder, filter, each);
  }
  async walkFormatted(
    folder: QueueFolder,
    query: QueueQuery,
    format: ListFormat,
    each: (text: string, count: number) => void,
  ) {
    const filter = parseQueueFilter(query);
    if (typeof filter === 'string') throw new Error(filter);
    // a deep folder is read on two threads (the same items in the same order as the service gives)
    if (folder !== 'bad' && parallelWalkAvailable())
      return (await walkFolderInParallel(this.service.spool, folder, filter, format, each)).total;
    return this.service.walk(folder, filter, (items) => each(formatItems(items, format), items.length));
  }
  async count(folder: QueueFolder, query: QueueQuery) {
    const filter = parseQueueFilter(query);
    if (typeof filter === 'string') throw new Error(filter);
    return this.service.count(folder, filter);
  }
  show(queueId: string) {
    return this.service.show(queueId);
  }
  raw(queueId: string) {
    return this.service.raw(queueId);
  }
  apply(op: Operation, queueId: string) {
    return this.service[op](queueId);
  }
  close(): void {
    this.release();
  }
}

class HttpBackend implements QueueBackend {
  constructor(
    private readonly base: string,
    private readonly token: string | undefined,
    readonly where: string,
  ) {}

  private async call(method: string, path: string): Promise<Response> {
    return fetch(this.base + path, {
      method,
      headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
      signal: AbortSignal.timeout(30_000),
    });
  }

  private async failure(res: Response): Promise<Extract<OperationResult, { ok: false }>> {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    const status = res.status === 404 ? 'not-found' : res.status === 409 ? 'conflict' : 'bad-request';
    const message =
      res.status === 401
        ? this.token
          ? 'the admin API refused the token given (by --admin-token, IMS_RELAY_ADMIN_TOKEN or the config file)'
          : 'the admin API needs a token: give --admin-token TOKEN or set IMS_RELAY_ADMIN_TOKEN'
        : (body.error ?? `HTTP ${res.status}`);
    return { ok: false, status, message };
  }

  async list(folder: QueueFolder) {
    const items: QueueItem[] = [];
    let total = 0;
    for (let offset = 0; ; offset += 1000) {
      const res = await this.call('GET', `/api/v1/messages?folder=${folder}&offset=${offset}&limit=1000`);
      if (!res.ok) throw new Error((await this.failure(res)).message);
      const page = (await res.json()) as { total: number; items: QueueItem[] };
      total = page.total;
      items.push(...page.items);
      if (page.items.length < 1000) break;
    }
    return { total, items };
  }

  async walk(folder: QueueFolder, query: QueueQuery, each: (items: QueueItem[]) => void) {
    type Page = { total: number; items: QueueItem[]; nextCursor?: string };
    const fetchPage = async (cursor: string | undefined): Promise<Page> => {
      const res = await this.call(
        'GET',
        `/api/v1/messages?folder=${folder}&limit=${WALK_PAGE}${cursor ? `&cursor=${cursor}` : ''}${queueFilterQuery(query)}`,
      );
      if (!res.ok) throw new Error((await this.failure(res)).message);
      return (await res.json()) as Page;
    };
    // the next page is asked for before this one is printed: the relay reads it meanwhile
    let next = fetchPage(undefined);
    for (;;) {
      const page = await next;
      if (page.nextCursor) {
        next = fetchPage(page.nextCursor);
        next.catch(() => {}); // awaited below; not an unhandled rejection if printing throws first
      }
      if (page.items.length > 0) each(page.items);
      if (!page.nextCursor) return page.total;
    }
  }

  async count(folder: QueueFolder, query: QueueQuery) {
    const res = await this.call('GET', `/api/v1/messages/count?folder=${folder}${queueFilterQuery(query)}`);
    if (!res.ok) throw new Error((await this.failure(res)).message);
    return ((await res.json()) as { count: number }).count;
  }

  async show(queueId: string): Promise<DetailResult> {
    const res = await this.call('GET', `/api/v1/messages/${encodeURIComponent(queueId)}`);
    if (!res.ok) return this.failure(res);
    return { ok: true, detail: (await res.json()) as Extract<DetailResult, { ok: true }>['detail'] };
  }

  async raw(queueId: string): Promise<RawResult> {
    const res = await this.call('GET', `/api/v1/messages/${encodeURIComponent(queueId)}/raw`);
    if (!res.ok) return this.failure(res);
    return { ok: true, raw: Buffer.from(await res.arrayBuffer()), folder: 'in' };
  }

  async apply(op: Operation, queueId: string): Promise<OperationResult> {
    const id = encodeURIComponent(queueId);
    const res =
      op === 'delete'
        ? await this.call('DELETE', `/api/v1/messages/${id}`)
        : await this.call('POST', `/api/v1/messages/${id}/${op}`);
    if (!res.ok) return this.failure(res);
    return (await res.json()) as OperationResult;
  }

  close(): void {}
}

/** Opens the right backend for the configured spool, or says why it cannot. */
export function openQueueBackend(
  config: QueueToolConfig,
): { ok: true; backend: QueueBackend } | { ok: false; message: string } {
  const running = readRuntimeInfo(config.spool);
  if (running) {
    if (!running.http) {
      return {
        ok: false,
        message: `the relay (PID ${running.pid}) runs on ${config.spool} with its admin API off; start it with --http, or stop it, to use the queue tools`,
      };
    }
    const host = running.http.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
    return {
      ok: true,
      backend: new HttpBackend(
        `http://${host}`,
        config.adminToken,
        `the relay (PID ${running.pid}, http://${host})`,
      ),
    };
  }
  let spool: Spool;
  try {
    spool = Spool.open(config.spool);
  } catch (err) {
    return { ok: false, message: `cannot open the spool ${config.spool}: ${(err as Error).message}` };
  }
  const lock = acquireSpoolLock(config.spool);
  if (!lock.ok) return lock;
  return { ok: true, backend: new LocalBackend(spool, lock.release) };
}
