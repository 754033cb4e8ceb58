/**
 * SMTP sessions: the last sessions as transcripts, what the client sent (C:) and what the relay
 * answered (S:), with runs of RCPT folded: "RCPT × 32,766 → 250 OK - Recipient <…>".
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, query } from '../api';
import { ErrorLine, message } from '../components';
import { count, time } from '../format';
import { onEvent } from '../live-events';
import { href, type Route } from '../router';

interface Step {
  command?: string;
  replies: string[];
  count: number;
  lastCommand?: string;
  lastReply?: string;
  /** The SMTP-stage rule that acted at this step. */
  rule?: string;
}

interface Session {
  id: string;
  client: { address: string; port: number };
  startedAt: string;
  endedAt?: string;
  queueIds: string[];
  steps: Step[];
  omitted: number;
}

function Transcript(props: { session: Session }) {
  const s = props.session;
  return (
    <section class="detail-pane transcript" aria-label="transcript">
      <div class="detail-actions">
        <a class="back" href={href('sessions')}>
          ← Back
        </a>
      </div>
      <h2 class="subject">
        {s.client.address}:{s.client.port}
      </h2>
      <p class="meta">
        {time(s.startedAt)} – {s.endedAt ? time(s.endedAt) : 'open'} · session {s.id}
        {s.queueIds.map((q) => (
          <>
            {' · '}
            <a href={href('queue', q)}>
              <code>{q}</code>
            </a>
          </>
        ))}
      </p>
      <ol class="dialogue">
        {s.steps.map((step, i) =>
          step.count > 1 ? (
            <li key={i} class="fold">
              <div class="c">
                C: RCPT × {count(step.count)}{' '}
                <span class="meta">
                  ({step.command} … {step.lastCommand})
                </span>
              </div>
              <div class={`s code-${step.replies[0]?.[0]}`}>
                S: → {step.replies[0]?.replace(/<[^<>]*>/g, '<…>')}
              </div>
            </li>
          ) : (
            <li key={i}>
              {step.command !== undefined ? <div class="c">C: {step.command}</div> : null}
              {step.replies.map((r, j) => (
                <div key={j} class={`s code-${r[0]}`}>
                  {r.split('\n').map((line, k) => (
                    <div key={k}>S: {line}</div>
                  ))}
                </div>
              ))}
              {step.rule !== undefined ? (
                <div class="meta rule">
                  rule: <code>{step.rule}</code>
                </div>
              ) : null}
            </li>
          ),
        )}
      </ol>
      {s.omitted > 0 ? <p class="notice">{count(s.omitted)} further commands not kept.</p> : null}
    </section>
  );
}

/** One line per session: how many RCPT were accepted and refused, and the messages. */
function summary(s: Session): string {
  let accepted = 0;
  let refused = 0;
  for (const step of s.steps) {
    if (!step.command || !/^RCPT/i.test(step.command)) continue;
    const code = step.replies[0]?.slice(0, 3) ?? '';
    if (code.startsWith('2')) accepted += step.count;
    else refused += step.count;
  }
  const parts = [`${count(s.queueIds.length)} message${s.queueIds.length === 1 ? '' : 's'}`];
  if (accepted + refused > 0)
    parts.push(`RCPT ${count(accepted)} accepted${refused ? `, ${count(refused)} refused` : ''}`);
  return parts.join(' · ');
}

export function SessionsView(props: { route: Route }) {
  const queueId = props.route.params.get('queueId') ?? '';
  const [data, setData] = useState<{ capacity: number; sessions: Session[] }>();
  const [error, setError] = useState<string>();
  const load = () =>
    getJson<{ capacity: number; sessions: Session[] }>(`/api/v1/sessions${query({ queueId })}`).then(
      (d) => {
        setData(d);
        setError(undefined);
      },
      (e: unknown) => setError(message(e)),
    );
  useEffect(() => {
    void load();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = onEvent(() => {
      timer ??= setTimeout(() => {
        timer = undefined;
        void load();
      }, 500);
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [queueId]);
  const selected = props.route.id
    ? data?.sessions.find((s) => s.id === props.route.id)
    : queueId && data?.sessions.length === 1
      ? data.sessions[0]
      : undefined;
  return (
    <div class={`sessions ${selected ? 'has-detail' : ''}`}>
      <section class="list-pane" aria-label="SMTP sessions">
        <div class="list-head">
          <span>
            {data ? `The last ${count(data.capacity)} sessions are kept` : ''}
            {queueId ? ` · with ${queueId}` : ''}
          </span>
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
        </div>
        <ErrorLine error={error} />
        <ul class="messages">
          {data?.sessions.map((s) => (
            <li key={s.id}>
              <a
                class="row"
                href={href('sessions', s.id)}
                aria-current={selected?.id === s.id ? 'true' : undefined}
              >
                <span class="from">{s.client.address}</span>
                <span class="date">{time(s.startedAt)}</span>
                <span class="subject">{summary(s)}</span>
                <span class="meta">{s.endedAt ? 'closed' : 'open'}</span>
              </a>
            </li>
          ))}
        </ul>
        {data && data.sessions.length === 0 ? <p class="empty">No SMTP sessions yet.</p> : null}
      </section>
      {selected ? <Transcript key={selected.id} session={selected} /> : null}
    </div>
  );
}
