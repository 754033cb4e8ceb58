/**
 * The one pager of the page, and the paged table built on it: every list that can be long (mail,
 * a report's 32,766 recipients, a queue folder, an entry's journal, a message's recipients) pages
 * with the same buttons, labels and keyboard behaviour.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { count } from './format';

/** A step the pager offers; undefined when there is nowhere to go (the button is disabled). */
type Step = (() => void) | undefined;

function PagerButton(props: { step: Step; label: string; children: ComponentChildren }) {
  return (
    <button type="button" disabled={!props.step} onClick={props.step} aria-label={props.label}>
      {props.children}
    </button>
  );
}

/**
 * The buttons and the position text. `first`/`last` are left out where the list cannot jump
 * (a list paged by cursor); `previousText`/`nextText` name the steps where arrows would not say
 * enough ("Newer", "Older").
 */
export function Pager(props: {
  label: string;
  status: string;
  first?: Step;
  previous: Step;
  next: Step;
  last?: Step;
  previousText?: string;
  nextText?: string;
}) {
  const jumps = 'first' in props || 'last' in props;
  return (
    <nav class="pager" aria-label={props.label}>
      {jumps ? (
        <PagerButton step={props.first} label="first page">
          «
        </PagerButton>
      ) : null}
      <PagerButton step={props.previous} label={props.previousText ?? 'previous page'}>
        {props.previousText ? `‹ ${props.previousText}` : '‹'}
      </PagerButton>
      <span class="pager-text">{props.status}</span>
      <PagerButton step={props.next} label={props.nextText ?? 'next page'}>
        {props.nextText ? `${props.nextText} ›` : '›'}
      </PagerButton>
      {jumps ? (
        <PagerButton step={props.last} label="last page">
          »
        </PagerButton>
      ) : null}
    </nav>
  );
}

/** "1–100 of 32,766 (page 1 of 328)" */
export function positionText(offset: number, limit: number, total: number): string {
  if (total === 0) return 'none';
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.ceil(total / limit);
  return `${count(offset + 1)}–${count(Math.min(total, offset + limit))} of ${count(total)} (page ${count(page)} of ${count(pages)})`;
}

/** A pager over a list of known length, by offset. */
export function OffsetPager(props: {
  offset: number;
  limit: number;
  total: number;
  onChange: (offset: number) => void;
  label: string;
}) {
  const { offset, limit, total, onChange } = props;
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  const go = (to: number, allowed: boolean): Step => (allowed ? () => onChange(to) : undefined);
  return (
    <Pager
      label={props.label}
      status={positionText(offset, limit, total)}
      first={go(0, offset > 0)}
      previous={go(Math.max(0, offset - limit), offset > 0)}
      next={go(offset + limit, offset + limit < total)}
      last={go(last, offset < last)}
    />
  );
}

/**
 * A table of a list the page holds whole (a report's recipients, an entry's journal), shown a page
 * at a time with a numbered first column. `row` gives the other cells of one item.
 */
export function PagedTable<T>(props: {
  items: readonly T[];
  pageSize: number;
  label: string;
  columns: readonly string[];
  row: (item: T) => ComponentChildren;
}) {
  const { items, pageSize } = props;
  const [offset, setOffset] = useState(0);
  // a shorter list (after a reload) keeps the pager on a page that exists
  useEffect(() => {
    if (offset > 0 && offset >= items.length)
      setOffset(Math.max(0, Math.floor((items.length - 1) / pageSize) * pageSize));
  }, [items.length]);
  return (
    <>
      <OffsetPager
        offset={offset}
        limit={pageSize}
        total={items.length}
        onChange={setOffset}
        label={props.label}
      />
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">#</th>
            {props.columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.slice(offset, offset + pageSize).map((item, i) => (
            <tr key={offset + i}>
              <td>{count(offset + i + 1)}</td>
              {props.row(item)}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
