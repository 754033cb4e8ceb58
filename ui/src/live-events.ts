/**
 * The relay's event stream (`/api/v1/events/stream`, server-sent events), read with fetch so that
 * the admin token goes in a header (EventSource cannot send one). One stream for the whole page;
 * views subscribe to it. Reconnects after a pause when the stream ends; what happened in the gap
 * is not replayed, so views that follow the stream read their list again on a reconnect.
 */
import { request } from './api';

export interface RelayEvent {
  time: string;
  id: number;
  type: 'Information' | 'Warning' | 'Error';
  category: string;
  message: string;
  queueId?: string;
  data?: Record<string, unknown>;
}

type Listener = (event: RelayEvent) => void;
type StateListener = (connected: boolean) => void;

const listeners = new Set<Listener>();
const stateListeners = new Set<StateListener>();
let controller: AbortController | undefined;
const reconnectListeners = new Set<() => void>();
let connected = false;
let everConnected = false;

function setConnected(value: boolean): void {
  if (value === connected) return;
  connected = value;
  for (const l of stateListeners) l(value);
  if (value && everConnected) for (const l of reconnectListeners) l();
  if (value) everConnected = true;
}

export function isConnected(): boolean {
  return connected;
}

export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Called when the stream is back after a gap (events of the gap were missed). */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function onConnection(listener: StateListener): () => void {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}

/** Dispatches each `data:` block of a server-sent-events text; returns what is left unparsed. */
function dispatch(buffer: string): string {
  let end: number;
  while ((end = buffer.indexOf('\n\n')) >= 0) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) continue;
    try {
      const event = JSON.parse(data) as RelayEvent;
      for (const l of listeners) l(event);
    } catch {
      // not an event: ignore
    }
  }
  return buffer;
}

export function startLiveEvents(): void {
  if (controller) return;
  const own = new AbortController();
  controller = own;
  void (async () => {
    while (!own.signal.aborted) {
      try {
        const res = await request('/api/v1/events/stream', { signal: own.signal });
        setConnected(true);
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = dispatch(buffer + value.replace(/\r\n/g, '\n'));
        }
      } catch {
        // the relay went away, or the token was refused: try again in a moment
      }
      setConnected(false);
      if (!own.signal.aborted) await new Promise((r) => setTimeout(r, 3000));
    }
  })();
}

export function stopLiveEvents(): void {
  controller?.abort();
  controller = undefined;
}
