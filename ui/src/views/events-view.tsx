/**
 * Events: the latest events of the log and a live tail, with IMS IDs, type and category; filter
 * by ID, type and queue ID; a queue ID links to its queue entry, a capture (1130) to the message.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, query } from '../api';
import { ErrorLine, message } from '../components';
import { time } from '../format';
import { onEvent, onReconnect, type RelayEvent } from '../live-events';
import { href, navigate, type Route } from '../router';

const KEEP = 2000;
const key = (e: RelayEvent) => `${e.time}|${e.id}|${e.queueId ?? ''}`;
/** Event 1130: a message was captured in the store; its data has the message's ID. */
const MAIL_CAPTURED = 1130;

export function EventsView(props: { route: Route }) {
  const p = props.route.params;
  const id = p.get('id') ?? '';
  const type = p.get('type') ?? '';
  const queueId = p.get('queueId') ?? '';
  const [events, setEvents] = useState<RelayEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [error, setError] = useState<string>();
  // the stream misses what happens while it reconnects: then the log is read again
  const [reconnects, setReconnects] = useState(0);
  useEffect(() => onReconnect(() => setReconnects((n) => n + 1)), []);

  useEffect(() => {
    getJson<{ events: RelayEvent[] }>(`/api/v1/events${query({ id, limit: 1000 })}`).then(
      (r) => {
        // events that came live while the log was being read stay (the log may not have them yet)
        const history = r.events.slice().reverse();
        const known = new Set(history.map(key));
        setEvents((live) => [...live.filter((e) => !known.has(key(e))), ...history].slice(0, KEEP));
        setError(undefined);
      },
      (e: unknown) => setError(message(e)),
    );
  }, [id, reconnects]);
  useEffect(() => {
    if (paused) return;
    return onEvent((e) => setEvents((list) => [e, ...list].slice(0, KEEP)));
  }, [paused]);

  const shown = events.filter(
    (e) =>
      (!id || String(e.id) === id) &&
      (!type || e.type === type) &&
      (!queueId || e.queueId === queueId || JSON.stringify(e.data ?? {}).includes(queueId)),
  );
  const set = (k: string, v: string) =>
    navigate(href('events', undefined, { id, type, queueId, [k]: v || undefined }));
  return (
    <section class="events" aria-label="events">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Event ID{' '}
          <input
            inputMode="numeric"
            size={6}
            value={id}
            onChange={(e) => set('id', e.currentTarget.value.trim())}
          />
        </label>
        <label>
          Type{' '}
          <select value={type} onChange={(e) => set('type', e.currentTarget.value)}>
            <option value="">any</option>
            <option>Information</option>
            <option>Warning</option>
            <option>Error</option>
          </select>
        </label>
        <label>
          Queue ID{' '}
          <input size={28} value={queueId} onChange={(e) => set('queueId', e.currentTarget.value.trim())} />
        </label>
        <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? 'Resume live tail' : 'Pause live tail'}
        </button>
      </form>
      <ErrorLine error={error} />
      <table class="grid events-table">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">ID</th>
            <th scope="col">Type</th>
            <th scope="col">Category</th>
            <th scope="col">Queue ID</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody aria-live={paused ? 'off' : 'polite'}>
          {shown.slice(0, 500).map((e, i) => (
            <tr key={`${e.time}-${e.id}-${i}`} class={`type-${e.type.toLowerCase()}`}>
              <td>{time(e.time)}</td>
              <td>
                <a href={href('events', undefined, { id: String(e.id) })}>{e.id}</a>
              </td>
              <td>{e.type}</td>
              <td>{e.category}</td>
              <td>
                {e.queueId ? (
                  <>
                    <a href={href('queue', e.queueId)} title="its queue entry">
                      <code>{e.queueId}</code>
                    </a>{' '}
                    {e.id === MAIL_CAPTURED && typeof e.data?.id === 'string' ? (
                      <a class="meta" href={href(e.data.report ? 'reports' : 'mail', e.data.id)}>
                        message
                      </a>
                    ) : (
                      <a
                        class="meta"
                        href={href('mail', undefined, { queueId: e.queueId })}
                        title="its captured mail and the reports about it"
                      >
                        mail
                      </a>
                    )}
                  </>
                ) : null}
              </td>
              <td>{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 ? <p class="empty">No events match.</p> : null}
    </section>
  );
}
