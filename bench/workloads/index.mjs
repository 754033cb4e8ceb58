// The workloads: what each one sends or does, on which targets, and which function runs it.
// kind: 'big' (time of one transaction), 'load' (msgs/s), 'source' (smtp-source, msgs/s): the
// receive path, every target; 'e2e' (end to end, msgs/s), 'ndr' (time to the NDR): only the
// targets in `targets`, the relay started with RELAY_ARGS[kind] (after --relay-args, so they win);
// 'scale' (W2 through HAProxy to two relays vs one relay directly) and 'deep' (a deep queue) start
// and stop their servers themselves (SELF_MANAGED). optIn: not in the default set.
import { settings } from '../lib/settings.mjs';
import { runDeepQueue } from './deep-queue.mjs';
import { runE2E } from './end-to-end.mjs';
import { NDR_FAIL_RULE, runNdr } from './ndr.mjs';
import { runReceive } from './receive.mjs';
import { runScaleOut } from './scale-out.mjs';

export const RECEIVE_KINDS = new Set(['big', 'load', 'source']);
export const SELF_MANAGED = new Set(['scale', 'deep']);
export const RELAY_ARGS = {
  e2e: ['--mode', 'capture'],
  ndr: ['--mode', 'capture', '--archive', 'true', '--fail', NDR_FAIL_RULE, '--pickup-interval', '100ms'],
};
export const WORKLOADS = {
  W1: {
    kind: 'big',
    desc: 'one transaction, 32,800 pipelined RCPT',
    args: ['--mode', 'big', '--rcpts', '32800', '--show', '32766,32767,32800'],
  },
  // W1 past the cap: every RCPT after 32,766 gets 452 and costs no stored state (issue 11)
  W1x100k: {
    kind: 'big',
    optIn: true,
    desc: 'one transaction, 100,000 pipelined RCPT (67,234 answered 452)',
    targets: ['floor', 'ims'],
    rcpts: 100000,
    args: ['--mode', 'big', '--rcpts', '100000', '--show', '32766,32767,100000'],
  },
  W1x300k: {
    kind: 'big',
    optIn: true,
    desc: 'one transaction, 300,000 pipelined RCPT (267,234 answered 452)',
    targets: ['floor', 'ims'],
    rcpts: 300000,
    args: ['--mode', 'big', '--rcpts', '300000', '--show', '32766,32767,300000'],
  },
  W2: {
    kind: 'load',
    desc: '2,000 msgs x 1 rcpt, 4 connections',
    messages: 2000,
    args: ['--mode', 'load', '--messages', '2000', '--rcpts', '1', '--conns', '4'],
  },
  W2c: {
    kind: 'source',
    desc: '2,000 msgs x 1 rcpt, new connection per message (smtp-source, 4 sessions)',
    messages: 2000,
    args: ['-c', '-l', '2048', '-m', '2000', '-s', '4', '-f', 'a@example.org', '-t', 'user@example.test'],
  },
  W3: {
    kind: 'load',
    desc: '200 msgs x 100 rcpt, 4 connections',
    messages: 200,
    args: ['--mode', 'load', '--messages', '200', '--rcpts', '100', '--conns', '4'],
  },
  // issue 18: scale-out; W2's shape through HAProxy (send-proxy) to two relays vs one relay directly
  W2haproxy: {
    kind: 'scale',
    desc: '2,000 msgs x 1 rcpt, 4 connections, through HAProxy to 2 relays (vs 1 relay directly)',
    targets: ['ims'],
    messages: 2000,
    args: ['--mode', 'load', '--messages', '2000', '--rcpts', '1', '--conns', '4'],
  },
  // smtpload sends every message to user1..userR@example.test: R mailboxes with M files each
  E2: {
    kind: 'e2e',
    desc: '2,000 msgs x 1 rcpt, 4 connections, end to end',
    targets: ['postfix', 'ims'],
    messages: 2000,
    rcpts: 1,
    args: ['--mode', 'load', '--messages', '2000', '--rcpts', '1', '--conns', '4'],
  },
  E3: {
    kind: 'e2e',
    desc: '200 msgs x 100 rcpt, 4 connections, end to end',
    targets: ['postfix', 'ims'],
    messages: 200,
    rcpts: 100,
    args: ['--mode', 'load', '--messages', '200', '--rcpts', '100', '--conns', '4'],
  },
  E4: {
    kind: 'e2e',
    desc: '200 msgs x 1,000 rcpt, 4 connections, end to end (goal: >= 100 msgs/s, <= 150 MB)',
    targets: ['ims'],
    messages: 200,
    rcpts: 1000,
    args: ['--mode', 'load', '--messages', '200', '--rcpts', '1000', '--conns', '4'],
  },
  NDR32766: {
    kind: 'ndr',
    desc: 'NDR for 32,766 failed recipients (pickup file)',
    targets: ['ims'],
    rcpts: 32766,
  },
  NDR100000: {
    kind: 'ndr',
    desc: 'NDR for 100,000 failed recipients (pickup file)',
    targets: ['ims'],
    rcpts: 100000,
  },
  // issue 18: a deep queue (hold mode); ims-relay's queue tools beside Postfix's postqueue -p
  DEEP100k: {
    kind: 'deep',
    optIn: true,
    targets: ['postfix', 'ims'],
    get messages() {
      return settings.opt?.deepMessages ?? 100000;
    },
    get desc() {
      return `${this.messages.toLocaleString('en-US')} messages queued (hold)`;
    },
  },
};
export const appliesTo = (wl, t) => !WORKLOADS[wl].targets || WORKLOADS[wl].targets.includes(t);

/** Runs one workload once against a started server (SELF_MANAGED kinds: a server not started yet). */
export function runWorkload(wl, port, label, server) {
  const W = WORKLOADS[wl];
  if (W.kind === 'e2e') return runE2E(W, port, label, server);
  if (W.kind === 'ndr') return runNdr(W, server);
  if (W.kind === 'scale') return runScaleOut(W, label, server);
  if (W.kind === 'deep') return runDeepQueue(W, label, server);
  return runReceive(W, port, label);
}
