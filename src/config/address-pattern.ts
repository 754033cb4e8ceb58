/**
 * An address pattern as the failure rules and the SMTP-stage rules take it: `*` any run of
 * characters, `?` one character, everything else literal, compared case-insensitively.
 */
export function addressPattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
