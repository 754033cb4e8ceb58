/**
 * `ims-relay/client`: helpers for the code that sends mail (no relay runs in this module).
 */
export {
  sendAll,
  type RefusedRecipient,
  type SendAllOptions,
  type SendAllResult,
  type SentTransaction,
} from './send-all.js';
export { RelayApi, RelayApiError, type MailQuery, type MailSummary } from './relay-api.js';
