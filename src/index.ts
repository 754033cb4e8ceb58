/**
 * ims-relay as a library: the test API (start an isolated relay from a test) and the types it uses.
 */
export {
  startRelay,
  type CapturedMessage,
  type TestRelay,
  type TestRelayOptions,
  type WaitOptions,
} from './test-api.js';
export type { RelayEvent } from './events/event-log.js';
export { EVENTS } from './events/catalogue.js';
