/**
 * The folder name of a capture-mode mailbox: the address in lower case with everything but
 * letters, digits and `@ . _ + -` percent-encoded, so that no address can reach outside
 * `<spool>/mailboxes/` (`../x@y` becomes `..%2Fx@y`, a leading dot is encoded too). Very long
 * addresses are cut and made unique with a hash.
 */
import crypto from 'node:crypto';

export function mailboxName(address: string): string {
  const encoded = address
    .toLowerCase()
    .replace(
      /[^a-z0-9@._+-]/g,
      (c) =>
        '%' +
        Buffer.from(c, 'utf8')
          .toString('hex')
          .toUpperCase()
          .replace(/(..)(?!$)/g, '$1%'),
    )
    .replace(/^\./, '%2E');
  if (encoded.length <= 200) return encoded;
  return encoded.slice(0, 160) + '~' + crypto.createHash('sha256').update(encoded).digest('hex').slice(0, 32);
}
