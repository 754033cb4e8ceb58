/**
 * `--accept-any-auth`, for tests: SMTP AUTH (PLAIN, LOGIN) accepts any user name with any password,
 * so that a client configured with credentials can send, and each test can send as its own name
 * (`auth: { user: 'test-a' }`) and find only its own mail by that name as a tag.
 *
 * Such a name proves nothing, so it never counts as authenticated for relaying: in relay mode a
 * client relays to a domain that is not local only from `--relay-networks`, exactly as if it had not
 * sent AUTH (relay-policy.ts). The name is used as a tag, so it must be one: 1 to 200 characters,
 * no control characters and no comma (an `X-Ims-Relay-Tag:` field holds comma-separated tags).
 */

/** Longest name taken (the longest tag the store keeps, message-tags.ts). */
export const MAX_AUTH_TAG = 200;

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const NOT_A_TAG = /[\x00-\x1f\x7f,]/;

/** Whether `name` can be taken as an AUTH name (and so as a tag). */
export function acceptableAuthName(name: string): boolean {
  return name.trim() !== '' && name.length <= MAX_AUTH_TAG && !NOT_A_TAG.test(name);
}

/**
 * The header field the relay puts below its `Received:` line on a message from a client that
 * authenticated, in capture mode: the store tags the message with the AUTH name. The name went
 * through `acceptableAuthName` (or is a user of the users file, checked the same way here).
 */
export function authTagField(user: string): string | undefined {
  return acceptableAuthName(user) ? `X-Ims-Relay-Tag: ${user.trim()}\r\n` : undefined;
}
