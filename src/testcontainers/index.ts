/**
 * `ims-relay/testcontainers`: ims-relay in a container for tests (needs the `testcontainers`
 * package, 11.x, installed next to ims-relay).
 */
export { DEFAULT_IMAGE, ImsRelayContainer, StartedImsRelayContainer } from './ims-relay-container.js';
export { RelayApi, RelayApiError, type MailQuery, type MailSummary } from '../client/relay-api.js';
