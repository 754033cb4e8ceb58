/** RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 02 Jan 2024 03:04:05 +0000` (the form MimeNode writes). */
export function formatRfc5322Date(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid date');
  return date.toUTCString().replace('GMT', '+0000');
}
