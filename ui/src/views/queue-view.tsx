/**
 * The queue: in/ out/ bad/ archive/ with counts, each entry's envelope and journal (per-recipient
 * outcome, attempts, next retry), and the CLI's actions: retry, hold, release, delete, replay.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, query, sendJson } from '../api';
import { Confirm, ErrorLine, message } from '../components';
import { bytes, count, time } from '../format';
import { onEvent, onReconnect } from '../live-events';
import { OffsetPager, PagedTable } from '../pager';
import { href, navigate, type Route } from '../router';

const FOLDERS = ['in', 'out', 'bad', 'archive'] as const;
type Folder = (typeof FOLDERS)[number];
const PAGE = 50;
const RECIPIENT_PAGE = 100;

interface QueueItem {
  queueId: string;
  folder: Folder;
  arrivedAt: string;
  sender: string;
  recipients: number;
  size: number;
  attempts: number;
  delivered: number;
  failed: number;
  deferred: number;
  held: boolean;
  retryAt?: string;
  lastError?: string;
}

interface Detail {
  item: QueueItem;
  envelope: {
    sender: string;
    source?: string;
    client?: { address: string; helo: string };
    arrivedAt: string;
  };
  recipients: { address: string; state: string; status?: string; diagnostic?: string }[];
  parsed: { subject?: string; from?: string; date?: string; messageId?: string };
}

type Action = 'retry' | 'hold' | 'release' | 'delete' | 'replay';
const DESTRUCTIVE: Partial<Record<Action, string>> = {
  delete: 'The entry and its journal are removed from the spool; it will not be delivered.',
  replay: 'A copy goes back into in/ and is delivered again to every recipient.',
};

function Entry(props: { id: string; onChanged: () => void }) {
  const [detail, setDetail] = useState<Detail>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [asking, setAsking] = useState<Action>();
  const load = () =>
    getJson<Detail>(`/api/v1/messages/${encodeURIComponent(props.id)}`).then(
      (d) => {
        setDetail(d);
        setError(undefined);
      },
      (e: unknown) => setError(message(e)),
    );
  useEffect(() => {
    void load();
    return onEvent((e) => {
      if (e.queueId === props.id) void load();
    });
  }, [props.id]);

  const run = async (action: Action) => {
    try {
      const result =
        action === 'delete'
          ? await sendJson<{ message?: string }>('DELETE', `/api/v1/messages/${encodeURIComponent(props.id)}`)
          : await sendJson<{ message?: string }>(
              'POST',
              `/api/v1/messages/${encodeURIComponent(props.id)}/${action}`,
            );
      setNotice(result.message ?? `${action}: done`);
      setError(undefined);
      props.onChanged();
      if (action === 'delete') navigate(href('queue', undefined, { folder: detail?.item.folder }));
      else void load();
    } catch (err) {
      setError(message(err));
    }
  };

  if (!detail)
    return (
      <section class="detail-pane">
        <ErrorLine error={error} />
        {error ? null : <p class="loading">Loading…</p>}
      </section>
    );
  const { item, envelope } = detail;
  const queued = item.folder === 'in' || item.folder === 'out';
  const actions: Action[] = queued
    ? ['retry', item.held ? 'release' : 'hold', 'delete']
    : ['replay', 'delete'];
  return (
    <section class="detail-pane" aria-label="queue entry">
      <div class="detail-actions">
        <a class="back" href={href('queue', undefined, { folder: item.folder })}>
          ← Back
        </a>
        {actions.map((a) => (
          <button
            type="button"
            key={a}
            class={DESTRUCTIVE[a] ? 'danger' : ''}
            onClick={() => (DESTRUCTIVE[a] ? setAsking(a) : void run(a))}
          >
            {a[0]!.toUpperCase() + a.slice(1)}
          </button>
        ))}
      </div>
      <h2 class="subject">
        <code>{item.queueId}</code> in {item.folder}/{' '}
        {item.held ? <span class="badge held">held</span> : null}
      </h2>
      <ErrorLine error={error} />
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <dl class="envelope">
        <dt>Sender</dt>
        <dd>{envelope.sender || '<>'}</dd>
        <dt>Subject</dt>
        <dd>{detail.parsed.subject ?? ''}</dd>
        <dt>Arrived</dt>
        <dd>{time(envelope.arrivedAt)}</dd>
        <dt>From</dt>
        <dd>
          {envelope.source === 'pickup'
            ? 'pickup folder'
            : envelope.client
              ? `${envelope.client.address} (HELO ${envelope.client.helo})`
              : ''}
        </dd>
        <dt>Size</dt>
        <dd>{bytes(item.size)}</dd>
        <dt>Attempts</dt>
        <dd>
          {item.attempts}
          {item.retryAt ? ` · next retry ${time(item.retryAt)}` : ''}
        </dd>
        <dt>Recipients</dt>
        <dd>
          {count(item.recipients)}: {count(item.delivered)} delivered, {count(item.failed)} failed,{' '}
          {count(item.deferred)} deferred
        </dd>
        {item.lastError ? (
          <>
            <dt>Last error</dt>
            <dd>{item.lastError}</dd>
          </>
        ) : null}
        <dt>Links</dt>
        <dd>
          <a href={href('events', undefined, { queueId: item.queueId })}>events</a> ·{' '}
          <a href={href('sessions', undefined, { queueId: item.queueId })}>SMTP session</a>
        </dd>
      </dl>
      <h3>Journal</h3>
      <PagedTable
        items={detail.recipients}
        pageSize={RECIPIENT_PAGE}
        label="journal pages"
        columns={['Recipient', 'State', 'Status', 'Diagnostic']}
        row={(r) => (
          <>
            <td>{r.address}</td>
            <td class={`action ${r.state}`}>{r.state}</td>
            <td>{r.status ?? ''}</td>
            <td>{r.diagnostic ?? ''}</td>
          </>
        )}
      />
      <Confirm
        open={asking !== undefined}
        title={`${asking ?? ''} ${item.queueId}?`}
        confirmLabel={asking ? asking[0]!.toUpperCase() + asking.slice(1) : ''}
        onCancel={() => setAsking(undefined)}
        onConfirm={() => {
          const a = asking!;
          setAsking(undefined);
          void run(a);
        }}
      >
        {asking ? DESTRUCTIVE[asking] : ''}
      </Confirm>
    </section>
  );
}

export function QueueView(props: { route: Route }) {
  const folder = (FOLDERS as readonly string[]).includes(props.route.params.get('folder') ?? '')
    ? (props.route.params.get('folder') as Folder)
    : 'in';
  const [counts, setCounts] = useState<Partial<Record<Folder, number>>>({});
  const [page, setPage] = useState<{ total: number; items: QueueItem[] }>();
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<string>();

  const load = async () => {
    try {
      const lists = await Promise.all(
        FOLDERS.map((f) =>
          getJson<{ total: number; items: QueueItem[] }>(
            `/api/v1/messages${query({ folder: f, offset: f === folder ? offset : 0, limit: f === folder ? PAGE : 1 })}`,
          ),
        ),
      );
      setCounts(Object.fromEntries(FOLDERS.map((f, i) => [f, lists[i]!.total])));
      setPage(lists[FOLDERS.indexOf(folder)]);
      setError(undefined);
    } catch (err) {
      setError(message(err));
    }
  };
  useEffect(() => setOffset(0), [folder]);
  useEffect(() => {
    void load();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = onEvent(() => {
      timer ??= setTimeout(() => {
        timer = undefined;
        void load();
      }, 500);
    });
    const stopReconnect = onReconnect(() => void load());
    return () => {
      stop();
      stopReconnect();
      if (timer) clearTimeout(timer);
    };
  }, [folder, offset]);

  return (
    <div class={`queue ${props.route.id ? 'has-detail' : ''}`}>
      <section class="list-pane" aria-label="queue">
        <nav class="folders" aria-label="spool folders">
          {FOLDERS.map((f) => (
            <a
              key={f}
              href={href('queue', undefined, { folder: f })}
              aria-current={f === folder ? 'page' : undefined}
            >
              {f}/ <span class="count">{counts[f] === undefined ? '…' : count(counts[f]!)}</span>
            </a>
          ))}
        </nav>
        <ErrorLine error={error} />
        {page ? (
          <>
            <OffsetPager
              offset={offset}
              limit={PAGE}
              total={page.total}
              onChange={setOffset}
              label="queue pages"
            />
            <table class="grid entries">
              <thead>
                <tr>
                  <th scope="col">Queue ID</th>
                  <th scope="col">Arrived</th>
                  <th scope="col">Sender</th>
                  <th scope="col">Rcpts</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((it) => (
                  <tr key={it.queueId} aria-current={props.route.id === it.queueId ? 'true' : undefined}>
                    <td>
                      <a href={href('queue', it.queueId, { folder })}>
                        <code>{it.queueId}</code>
                      </a>
                    </td>
                    <td>{time(it.arrivedAt)}</td>
                    <td>{it.sender || '<>'}</td>
                    <td>{count(it.recipients)}</td>
                    <td>
                      {it.held ? <span class="badge held">held</span> : null}
                      {it.attempts > 0 ? `${it.attempts} attempt${it.attempts === 1 ? '' : 's'}` : 'waiting'}
                      {it.retryAt ? `, retry ${time(it.retryAt)}` : ''}
                      {it.lastError ? <div class="meta">{it.lastError}</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {page.items.length === 0 ? <p class="empty">{folder}/ is empty.</p> : null}
          </>
        ) : null}
      </section>
      {props.route.id ? (
        <Entry key={props.route.id} id={props.route.id} onChanged={() => void load()} />
      ) : null}
    </div>
  );
}
