/**
 * One captured message: headers at the top, then HTML (in a sandboxed frame: no scripts, no
 * remote loads until asked), text, headers, raw source, recipients (paged) and, for a delivery
 * report, the report itself.
 */
import { useEffect, useState } from 'preact/hooks';
import { download } from '../api';
import { Confirm, ErrorLine, Tabs, message } from '../components';
import { bytes, count, time } from '../format';
import {
  attachmentPath,
  deleteMail,
  getMail,
  htmlOf,
  mailRecipients,
  rawMail,
  type MailDetail,
} from '../mail-api';
import { OffsetPager } from '../pager';
import { href, navigate } from '../router';
import { ReportView } from './report-view';

type Tab = 'html' | 'text' | 'headers' | 'raw' | 'recipients' | 'report';

/** The policy inside the message frame unless the user allows remote content. */
const NO_REMOTE =
  '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data: cid:; style-src \'unsafe-inline\'; font-src data:">';

function HtmlFrame(props: { id: string; inline?: string }) {
  const [html, setHtml] = useState(props.inline);
  const [remote, setRemote] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (props.inline === undefined) htmlOf(props.id).then(setHtml, (e: unknown) => setError(message(e)));
  }, [props.id]);
  if (error) return <ErrorLine error={error} />;
  if (html === undefined) return <p class="loading">Loading…</p>;
  const hasRemote =
    /\b(src|href|background)\s*=\s*["']?https?:/i.test(html) || /url\(\s*["']?https?:/i.test(html);
  return (
    <div class="html-view">
      {hasRemote ? (
        <p class="notice">
          {remote ? 'Remote content is loaded.' : 'Remote content (images, styles from the web) is blocked.'}{' '}
          <button type="button" onClick={() => setRemote(!remote)}>
            {remote ? 'Block remote content' : 'Load remote content'}
          </button>
        </p>
      ) : null}
      <iframe
        title="message HTML"
        sandbox=""
        referrerpolicy="no-referrer"
        srcdoc={(remote ? '' : NO_REMOTE) + html}
      />
    </div>
  );
}

function Recipients(props: { detail: MailDetail }) {
  const { detail } = props;
  const limit = 100;
  const [offset, setOffset] = useState(0);
  const [list, setList] = useState<{ total: number; recipients: string[]; offset: number }>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    // the page and the pager change together, when the page has come
    mailRecipients(detail.id, offset, limit).then(
      (page) => setList({ ...page, offset }),
      (err: unknown) => setError(message(err)),
    );
  }, [detail.id, offset]);
  if (error) return <ErrorLine error={error} />;
  if (!list) return <p class="loading">Loading…</p>;
  return (
    <div>
      <p>
        <strong>{count(list.total)}</strong> recipient{list.total === 1 ? '' : 's'}
      </p>
      <OffsetPager
        offset={list.offset}
        limit={limit}
        total={list.total}
        onChange={setOffset}
        label="recipient pages"
      />
      <ol class="recipients" start={list.offset + 1}>
        {list.recipients.map((r, i) => (
          <li key={i}>{r}</li>
        ))}
      </ol>
    </div>
  );
}

function Raw(props: { id: string }) {
  const [raw, setRaw] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    rawMail(props.id).then(setRaw, (e: unknown) => setError(message(e)));
  }, [props.id]);
  if (error) return <ErrorLine error={error} />;
  const shown =
    raw && raw.length > 2_000_000 ? `${raw.slice(0, 2_000_000)}\n… (cut; download for the rest)` : raw;
  return (
    <div>
      <button
        type="button"
        onClick={() => void download(`/api/v1/mail/${encodeURIComponent(props.id)}/raw`, `${props.id}.eml`)}
      >
        Download .eml
      </button>
      <pre class="source">{shown ?? 'Loading…'}</pre>
    </div>
  );
}

export function MessageView(props: { id: string; reports: boolean; back: string; onDeleted: () => void }) {
  const [detail, setDetail] = useState<MailDetail>();
  const [error, setError] = useState<string>();
  const [tab, setTab] = useState<Tab>();
  const [confirm, setConfirm] = useState(false);
  useEffect(() => {
    getMail(props.id).then(
      (d) => {
        setDetail(d);
        setTab(
          d.reportInfo && (props.reports || !d.html) ? 'report' : d.html !== undefined ? 'html' : 'text',
        );
      },
      (err: unknown) => setError(message(err)),
    );
  }, [props.id]);

  if (error)
    return (
      <section class="detail-pane">
        <a href={props.back}>← Back</a>
        <ErrorLine error={error} />
      </section>
    );
  if (!detail || !tab) return <section class="detail-pane loading">Loading…</section>;

  const tabs: { id: Tab; label: string }[] = [
    ...(detail.reportInfo ? [{ id: 'report' as const, label: 'Report' }] : []),
    ...(detail.html !== undefined ? [{ id: 'html' as const, label: 'HTML' }] : []),
    { id: 'text', label: 'Text' },
    { id: 'headers', label: 'Headers' },
    { id: 'raw', label: 'Raw' },
    { id: 'recipients', label: `Recipients (${count(detail.recipientCount)})` },
  ];
  return (
    <section class="detail-pane" aria-label="message">
      <div class="detail-actions">
        <a href={props.back} class="back">
          ← Back
        </a>
        <button type="button" class="danger" onClick={() => setConfirm(true)}>
          Delete
        </button>
      </div>
      <h2 class="subject">{detail.subject || '(no subject)'}</h2>
      <dl class="envelope">
        <dt>From</dt>
        <dd>{detail.from || '<>'}</dd>
        <dt>To</dt>
        <dd>
          {detail.recipients.slice(0, 3).join(', ')}
          {detail.recipientCount > 3 ? (
            <button type="button" class="link" onClick={() => setTab('recipients')}>
              and {count(detail.recipientCount - 3)} more
            </button>
          ) : null}
        </dd>
        <dt>Date</dt>
        <dd>{time(detail.date)}</dd>
        <dt>Size</dt>
        <dd>{bytes(detail.size)}</dd>
        {detail.queueId ? (
          <>
            <dt>Queue ID</dt>
            <dd>
              <code>{detail.queueId}</code> · <a href={href('queue', detail.queueId)}>queue entry</a> ·{' '}
              {detail.report ? null : (
                <>
                  <a href={href('reports', undefined, { queueId: detail.queueId })}>reports about it</a>{' '}
                  ·{' '}
                </>
              )}
              <a href={href('events', undefined, { queueId: detail.queueId })}>events</a> ·{' '}
              <a href={href('sessions', undefined, { queueId: detail.queueId })}>SMTP session</a>
            </dd>
          </>
        ) : null}
        {detail.tags.length > 0 ? (
          <>
            <dt>Tags</dt>
            <dd>
              {detail.tags.map((t) => (
                <a
                  class="badge"
                  key={t}
                  href={href('mail', undefined, { tag: t })}
                  title={`all mail tagged ${t}`}
                >
                  {t}
                </a>
              ))}
            </dd>
          </>
        ) : null}
      </dl>
      {detail.attachments.length > 0 ? (
        <ul class="attachments" aria-label="attachments">
          {detail.attachments.map((a) => (
            <li key={a.index}>
              <button
                type="button"
                onClick={() =>
                  void download(attachmentPath(detail.id, a.index), a.name).catch((e: unknown) =>
                    setError(message(e)),
                  )
                }
              >
                ⤓ {a.name}
              </button>{' '}
              <span class="meta">
                {a.type}, {bytes(a.size)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <Tabs tabs={tabs} current={tab} onChange={setTab} label="message parts" />
      <div class="tab-body" role="tabpanel">
        {tab === 'html' ? (
          <HtmlFrame id={detail.id} {...(detail.html ? { inline: detail.html } : {})} />
        ) : null}
        {tab === 'text' ? <pre class="text">{detail.text ?? '(no text part)'}</pre> : null}
        {tab === 'headers' ? (
          <table class="headers">
            <tbody>
              {detail.headers.map(([k, v], i) => (
                <tr key={i}>
                  <th scope="row">{k}</th>
                  <td>{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {tab === 'raw' ? <Raw id={detail.id} /> : null}
        {tab === 'recipients' ? <Recipients detail={detail} /> : null}
        {tab === 'report' && detail.reportInfo ? <ReportView detail={detail} /> : null}
      </div>
      <Confirm
        open={confirm}
        title="Delete this message?"
        confirmLabel="Delete"
        onCancel={() => setConfirm(false)}
        onConfirm={() => {
          setConfirm(false);
          deleteMail(detail.id).then(
            () => {
              props.onDeleted();
              navigate(props.back);
            },
            (err: unknown) => setError(message(err)),
          );
        }}
      >
        “{detail.subject || '(no subject)'}” will be removed from the store.
      </Confirm>
    </section>
  );
}
