// Index records of made-up captured messages, for the bench scripts that fill a store straight
// through StoreIndex (bench/store-goals.mjs, bench/store-insert-cpu.mjs): the k-th queue ID, and a
// plain-text message's record with the fields the index takes.

/** The k-th made-up queue ID (valid for the store: 11 hex digits, 5 digits, 4 hex digits). */
export function syntheticQueueId(k) {
  const serial = String(k % 100_000).padStart(5, '0');
  const round = (Math.floor(k / 100_000) + 1).toString(16).toUpperCase().padStart(4, '0');
  return `1A23B726A26-${serial}-${round}`;
}

/** The index record of capture 1 of queue ID k: a plain-text message from app@example.test. */
export function syntheticRecord(k, { recipients, capturedAt, size, text }) {
  const queueId = syntheticQueueId(k);
  return {
    id: `${queueId}.1`,
    queueId,
    sender: 'app@example.test',
    recipients,
    capturedAt,
    size,
    from: '<app@example.test>',
    subject: `message ${k}`,
    headerDate: undefined,
    report: false,
    reportStatuses: [],
    reportedQueueId: undefined,
    attachments: 0,
    tags: [],
    text,
  };
}
