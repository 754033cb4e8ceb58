/**
 * A delivery report as what it is: the original message, a paged table of recipients with Action,
 * Status and Diagnostic-Code, and the line saying how many recipients it could not list (with
 * the 3041 event that goes with it).
 */
import { useEffect, useState } from 'preact/hooks';
import { count } from '../format';
import { listMail, type MailDetail } from '../mail-api';
import { PagedTable } from '../pager';
import { href } from '../router';

const PAGE = 100;

/**
 * The message a report is about, by the queue ID the report names (its X-Ims-Relay-Queue-ID
 * field): its capture in the store when there is one, and its queue entry.
 */
function OriginalLinks(props: { queueId: string }) {
  const { queueId } = props;
  const [captured, setCaptured] = useState<string | null>();
  useEffect(() => {
    listMail({ queueId, report: false }, 1).then(
      (page) => setCaptured(page.messages[0]?.id ?? null),
      () => setCaptured(null),
    );
  }, [queueId]);
  return (
    <>
      <code>{queueId}</code>
      {captured ? (
        <>
          {' '}
          · <a href={href('mail', captured)}>original message</a>
        </>
      ) : captured === null ? (
        <span class="meta"> (not in the store)</span>
      ) : null}{' '}
      · <a href={href('queue', queueId)}>queue entry</a> ·{' '}
      <a href={href('events', undefined, { queueId })}>events</a>
    </>
  );
}

export function ReportView(props: { detail: MailDetail }) {
  const info = props.detail.reportInfo!;
  const text = props.detail.text ?? '';
  const further =
    /(\d+) further recipients ([^\n]*?) and are not listed in this report: the total number of recipients exceeds (\d+)\./.exec(
      text.replace(/\s+/g, ' '),
    );
  const failed = info.recipients.filter((r) => r.action === 'failed').length;
  const kind = failed > 0 ? 'Non-delivery report' : 'Delivery report';
  return (
    <div class="report">
      <h3>{kind}</h3>
      <dl class="envelope">
        <dt>Original subject</dt>
        <dd>{info.originalSubject ?? '(not in the report)'}</dd>
        <dt>Original sender</dt>
        <dd>{info.originalFrom ?? props.detail.recipients[0] ?? ''}</dd>
        {props.detail.reportedQueueId ? (
          <>
            <dt>Original queue ID</dt>
            <dd>
              <OriginalLinks queueId={props.detail.reportedQueueId} />
            </dd>
          </>
        ) : null}
        <dt>Recipients listed</dt>
        <dd>{count(info.recipientTotal)}</dd>
      </dl>
      {further ? (
        <p class="notice warning" role="note">
          {count(Number(further[1]))} further recipients {further[2]} and are not listed in this report: the
          total number of recipients exceeds {further[3]}.{' '}
          <a href={href('events', undefined, { id: '3041' })}>Event 3041</a>
        </p>
      ) : null}
      <PagedTable
        items={info.recipients}
        pageSize={PAGE}
        label="report pages"
        columns={['Recipient', 'Action', 'Status', 'Diagnostic-Code']}
        row={(r) => (
          <>
            <td>{r.recipient}</td>
            <td class={`action ${r.action}`}>{r.action}</td>
            <td>{r.status}</td>
            <td>{r.diagnosticCode ?? ''}</td>
          </>
        )}
      />
    </div>
  );
}
