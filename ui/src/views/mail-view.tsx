/**
 * Mail and Reports: the captured messages, newest first, updated live; search and filters; one
 * message beside the list (or instead of it on a narrow window).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { Confirm, ErrorLine, message } from '../components';
import { bytes, count, time } from '../format';
import { onEvent, onReconnect } from '../live-events';
import { deleteAllMail, listMail, type MailFilter, type MailPage } from '../mail-api';
import { Pager } from '../pager';
import { href, navigate, type Route } from '../router';
import { MessageView } from './message-view';

const PAGE = 50;
/** Events 1130 and 1131: a message was captured in, or deleted from, the store. */
const MAIL_CAPTURED = 1130;
const MAIL_DELETED = 1131;

function filterFrom(params: URLSearchParams, reports: boolean): MailFilter {
  const f: MailFilter = {};
  for (const k of ['q', 'to', 'from', 'tag', 'queueId'] as const) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  if (reports || params.get('report') === 'true') f.report = true;
  return f;
}

const FILTER_NAMES = { to: 'to', from: 'from', tag: 'tag', queueId: 'queue ID' } as const;

/** The filters in force, each with a button that drops it. */
function FilterChips(props: { filter: MailFilter; reports: boolean; onRemove: (key: string) => void }) {
  const keys = (Object.keys(FILTER_NAMES) as (keyof typeof FILTER_NAMES)[]).filter((k) => props.filter[k]);
  const reportOnly = props.filter.report && !props.reports;
  if (keys.length === 0 && !reportOnly) return null;
  return (
    <ul class="chips" aria-label="filters in force">
      {keys.map((k) => (
        <li key={k}>
          {FILTER_NAMES[k]}: <strong>{props.filter[k]}</strong>{' '}
          <button
            type="button"
            class="link"
            aria-label={`remove the ${FILTER_NAMES[k]} filter`}
            onClick={() => props.onRemove(k)}
          >
            ×
          </button>
        </li>
      ))}
      {reportOnly ? (
        <li>
          reports only{' '}
          <button
            type="button"
            class="link"
            aria-label="remove the reports-only filter"
            onClick={() => props.onRemove('report')}
          >
            ×
          </button>
        </li>
      ) : null}
    </ul>
  );
}

export function MailView(props: { reports: boolean; route: Route }) {
  const { reports, route } = props;
  const view = reports ? 'reports' : 'mail';
  const filter = filterFrom(route.params, reports);
  const filterKey = JSON.stringify(filter);
  const [page, setPage] = useState<MailPage | undefined>();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [error, setError] = useState<string>();
  const [confirmAll, setConfirmAll] = useState(false);
  const [search, setSearch] = useState(filter.q ?? '');
  const [showFilters, setShowFilters] = useState(
    Boolean(filter.to || filter.from || filter.tag || filter.queueId),
  );
  const cursor = cursors[cursors.length - 1];
  const listRef = useRef<HTMLUListElement>(null);

  const load = async () => {
    try {
      setPage(await listMail(filter, PAGE, cursor));
      setError(undefined);
    } catch (err) {
      setError(message(err));
    }
  };

  useEffect(() => {
    setCursors([undefined]);
    setSearch(filter.q ?? '');
  }, [filterKey]);
  useEffect(() => {
    void load();
  }, [filterKey, cursor]);

  // live: the first page follows new and deleted mail (at most every 300 ms), and is read again
  // when the event stream comes back after a gap
  useEffect(() => {
    if (cursor !== undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = onEvent((e) => {
      if (e.id !== MAIL_CAPTURED && e.id !== MAIL_DELETED) return;
      timer ??= setTimeout(() => {
        timer = undefined;
        void load();
      }, 300);
    });
    const stopReconnect = onReconnect(() => void load());
    return () => {
      stop();
      stopReconnect();
      if (timer) clearTimeout(timer);
    };
  }, [filterKey, cursor]);

  const setParams = (next: Record<string, string | undefined>) => {
    const params: Record<string, string | undefined> = {};
    for (const [k, v] of route.params) params[k] = v;
    navigate(href(view, undefined, { ...params, ...next }));
  };

  const onListKey = (e: KeyboardEvent) => {
    if (e.key !== 'j' && e.key !== 'k') return;
    const links = [...(listRef.current?.querySelectorAll<HTMLAnchorElement>('a.row') ?? [])];
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    const next = links[Math.min(links.length - 1, Math.max(0, at + (e.key === 'j' ? 1 : -1)))];
    if (next) {
      e.preventDefault();
      next.focus();
    }
  };

  const filtered = Object.keys(filter).some((k) => k !== 'report') || (filter.report && !reports);
  return (
    <div class={`mail ${route.id ? 'has-detail' : ''}`}>
      <section class="list-pane" aria-label={reports ? 'delivery reports' : 'captured mail'}>
        <form
          class="searchbar"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setParams({ q: search.trim() || undefined });
          }}
        >
          <input
            type="search"
            placeholder={reports ? 'Search reports' : 'Search mail (full text)'}
            aria-label="search"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
          <button type="submit">Search</button>
          <button type="button" aria-expanded={showFilters} onClick={() => setShowFilters(!showFilters)}>
            Filters
          </button>
        </form>
        {showFilters ? (
          <form
            class="filters"
            key={filterKey}
            onSubmit={(e) => {
              e.preventDefault();
              const data = new FormData(e.currentTarget);
              const v = (k: string) => String(data.get(k) ?? '').trim() || undefined;
              setParams({
                to: v('to'),
                from: v('from'),
                tag: v('tag'),
                queueId: v('queueId'),
                report: reports ? undefined : data.get('report') ? 'true' : undefined,
              });
            }}
          >
            <label>
              Recipient <input name="to" defaultValue={filter.to ?? ''} />
            </label>
            <label>
              Sender <input name="from" defaultValue={filter.from ?? ''} />
            </label>
            <label>
              Tag <input name="tag" defaultValue={filter.tag ?? ''} />
            </label>
            <label>
              Queue ID <input name="queueId" size={24} defaultValue={filter.queueId ?? ''} />
            </label>
            {reports ? null : (
              <label class="check">
                <input type="checkbox" name="report" defaultChecked={Boolean(filter.report)} /> Reports only
              </label>
            )}
            <button type="submit">Apply</button>
            <button type="button" onClick={() => navigate(href(view))}>
              Clear
            </button>
          </form>
        ) : null}
        <FilterChips filter={filter} reports={reports} onRemove={(k) => setParams({ [k]: undefined })} />
        <div class="list-head">
          <span aria-live="polite">
            {page
              ? `${count(page.total)} ${reports ? 'report' : 'message'}${page.total === 1 ? '' : 's'}`
              : ''}
            {filtered ? ' (filtered)' : ''}
          </span>
          <button
            type="button"
            class="danger"
            disabled={!page || page.total === 0}
            onClick={() => setConfirmAll(true)}
          >
            {filtered || reports ? 'Delete these' : 'Delete all'}
          </button>
        </div>
        <ErrorLine error={error} />
        <ul class="messages" ref={listRef} onKeyDown={onListKey}>
          {page?.messages.map((m) => (
            <li key={m.id}>
              <a
                class="row"
                href={href(view, m.id, Object.fromEntries(route.params))}
                aria-current={route.id === m.id ? 'true' : undefined}
              >
                <span class="from">{m.from || '<>'}</span>
                <span class="date">{time(m.date)}</span>
                <span class="subject">
                  {m.report ? <span class="badge report">report</span> : null}
                  {m.subject || '(no subject)'}
                </span>
                <span class="meta">
                  to {m.recipients.slice(0, 2).join(', ')}
                  {m.recipientCount > 2 ? ` and ${count(m.recipientCount - 2)} more` : ''} · {bytes(m.size)}
                  {m.tags.map((t) => (
                    <span class="badge" key={t}>
                      {t}
                    </span>
                  ))}
                </span>
              </a>
            </li>
          ))}
        </ul>
        {page && page.messages.length === 0 ? (
          <p class="empty">
            {reports
              ? 'No delivery reports. A message that fails (see Rules & settings) gets one.'
              : 'No mail yet. Send some to the SMTP port.'}
          </p>
        ) : null}
        <Pager
          label="pages"
          status={cursors.length > 1 ? `page ${count(cursors.length)}` : ''}
          previous={cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined}
          next={page?.nextCursor ? () => setCursors([...cursors, page.nextCursor]) : undefined}
          previousText="Newer"
          nextText="Older"
        />
        <Confirm
          open={confirmAll}
          title={filtered || reports ? 'Delete the matching messages?' : 'Delete all captured mail?'}
          confirmLabel="Delete"
          onCancel={() => setConfirmAll(false)}
          onConfirm={() => {
            setConfirmAll(false);
            deleteAllMail(filter).then(
              () => {
                if (route.id) navigate(href(view, undefined, Object.fromEntries(route.params)));
                void load();
              },
              (err: unknown) => setError(message(err)),
            );
          }}
        >
          {page ? `${count(page.total)} message(s) will be removed from the store.` : ''}
        </Confirm>
      </section>
      {route.id ? (
        <MessageView
          key={route.id}
          id={route.id}
          reports={reports}
          back={href(view, undefined, Object.fromEntries(route.params))}
          onDeleted={() => void load()}
        />
      ) : null}
    </div>
  );
}
