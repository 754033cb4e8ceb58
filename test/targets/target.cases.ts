/**
 * The shared case suite of the delivery targets (src/delivery/target.ts): the same cases run
 * against every implementation (targets.test.ts), the way one router test file is run against
 * every router. Each case drives the real delivery agent over a real spool, so what the target
 * reports is journaled as it is in the relay; the crash case runs `ims-relay serve` (the built CLI)
 * as a child process and kills it with SIGKILL in the middle of a delivery.
 *
 *   delivered   every recipient once, the entry finished
 *   deferred    a temporary failure leaves the recipient pending (never failed); the next attempt
 *               delivers it and nothing twice
 *   failed      a permanent refusal fails that recipient alone and queues the NDR (targets that can
 *               refuse a recipient for good: the upstream; a local disk has no "user unknown")
 *   partial     a delivery stopped after its first batch records that batch; the rest stays pending
 *               and the next attempt sends only the rest
 *   crash       killed in the middle of a delivery, then started again: no recipient lost, none twice
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryAgent } from '../../src/delivery/delivery-agent.js';
import type { Target } from '../../src/delivery/target.js';
import { EventLog } from '../../src/events/event-log.js';
import { Spool } from '../../src/spool/spool.js';
import { startRelayProcess, type RelayProcess } from '../helpers/relay-process.js';
import { SmtpSession } from '../helpers/smtp-session.js';
import { tempDir } from '../helpers/test-relay.js';
import { waitFor } from '../helpers/wait-for.js';
import type { TargetKind, TargetPlace } from './target-places.js';

const SENDER = 'sender@example.test';
const addresses = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => `${tag}${i + 1}@example.test`);

type EnvelopeOf = Parameters<Spool['createEntry']>[0];

async function queue(spool: Spool, recipients: string[]): Promise<string> {
  const queueId = spool.newQueueId();
  const envelope: EnvelopeOf = {
    version: 1,
    queueId,
    arrivedAt: new Date().toISOString(),
    sender: SENDER,
    recipients: recipients.map((address) => ({ address })),
    dsn: {},
    bodyType: '7bit',
    smtpUtf8: false,
    source: 'smtp',
  };
  const writer = spool.createEntry(envelope);
  writer.end(Buffer.from(`Subject: target case\r\nMessage-ID: <${queueId}@cases.test>\r\n\r\nbody\r\n`));
  await writer.commit();
  return queueId;
}

function agentFor(spool: Spool, target: Target): DeliveryAgent {
  return new DeliveryAgent(
    spool,
    new EventLog({ logLevel: 'silent' }),
    {
      hostname: 'relay.test',
      retry: { initial: 60_000, max: 3_600_000, lifetime: 5 * 86_400_000 },
      maxProcessingFailures: 3,
      archive: false,
      ndr: { maxRecipients: 32_766, overflow: 'truncate', maxOriginalBytes: 1_000_000 },
      failureRules: () => [],
    },
    target,
    () => undefined,
  );
}

const copiesOf = (place: TargetPlace, list: string[]) => list.map((a) => place.copies(a));

export function targetCases(kind: TargetKind): void {
  describe(`delivery target: ${kind.name}`, () => {
    let place: TargetPlace | undefined;
    let relay: RelayProcess | undefined;
    afterEach(async () => {
      if (relay && relay.child.exitCode === null && relay.child.signalCode === null) {
        relay.child.kill('SIGTERM');
        await relay.exited;
      }
      relay = undefined;
      await place?.close();
      place = undefined;
    });

    async function setUp() {
      const dir = tempDir('ims-target-');
      place = await kind.open(dir);
      const spool = Spool.open(path.join(dir, 'spool'));
      const target = await place.target(spool.dir);
      return { place, spool, target, agent: agentFor(spool, target) };
    }

    it('delivered: every recipient once, the entry finished', async () => {
      const { place, spool, agent } = await setUp();
      const to = addresses(3, 'ok');
      const id = await queue(spool, to);
      const outcome = await agent.process('in', id);
      expect(outcome).toMatchObject({ kind: 'finished', to: 'removed', delivered: 3, failed: 0 });
      expect(copiesOf(place, to)).toEqual([1, 1, 1]);
      expect(await spool.locate(id)).toBeUndefined();
    });

    it('deferred: the recipient stays pending, is delivered by the next attempt, nothing twice', async () => {
      const { place, spool, agent } = await setUp();
      const to = addresses(3, 'later');
      place.defer(to[1]!);
      const id = await queue(spool, to);
      const first = await agent.process('in', id);
      // a temporary failure never fails a recipient: the entry waits for its retry
      expect(first).toMatchObject({ kind: 'retry', pending: kind.defersOneRecipient ? 1 : 3 });
      expect(copiesOf(place, to)).toEqual(kind.defersOneRecipient ? [1, 0, 1] : [0, 0, 0]);
      expect(await spool.locate(id)).toBe('in');
      place.repair();
      const second = await agent.process('in', id);
      expect(second).toMatchObject({ kind: 'finished', to: 'removed', delivered: 3, failed: 0 });
      expect(copiesOf(place, to)).toEqual([1, 1, 1]);
    });

    if (kind.refusesPermanently)
      it('failed: a permanent refusal fails that recipient alone and queues the NDR', async () => {
        const { place, spool, agent } = await setUp();
        const to = addresses(3, 'gone');
        place.refuse!(to[2]!);
        const id = await queue(spool, to);
        const outcome = await agent.process('in', id);
        expect(outcome).toMatchObject({ kind: 'finished', to: 'archive', delivered: 2, failed: 1 });
        expect(copiesOf(place, to)).toEqual([1, 1, 0]);
        const reports = outcome.kind === 'finished' ? outcome.reports : [];
        expect(reports).toHaveLength(1);
        expect(await spool.locate(reports[0]!)).toBe('out');
        expect(await spool.locate(id)).toBe('archive');
      });

    it('partial batch: stopped after its first batch, the next attempt sends only the rest', async () => {
      const { place, spool, target } = await setUp();
      const to = addresses(5, 'part');
      // the relay is told to stop as soon as the first batch is recorded
      let stoppedOnce = false;
      const stopAfterFirstBatch: Target = {
        doneAction: target.doneAction,
        close: () => target.close(),
        deliver: (d, progress) =>
          target.deliver(d, {
            ...progress,
            record: async (attempts) => {
              await progress.record(attempts);
              if (!stoppedOnce) agent.stopping = stoppedOnce = true;
            },
          }),
      };
      const agent = agentFor(spool, stopAfterFirstBatch);
      const id = await queue(spool, to);
      const first = await agent.process('in', id);
      const batch = Math.min(kind.batchSize, to.length);
      if (batch < to.length) expect(first).toMatchObject({ kind: 'retry', pending: to.length - batch });
      else expect(first).toMatchObject({ kind: 'finished', delivered: to.length });
      expect(copiesOf(place, to)).toEqual(to.map((_, i) => (i < batch ? 1 : 0)));
      agent.stopping = false;
      if (batch < to.length)
        expect(await agent.process('in', id)).toMatchObject({ kind: 'finished', delivered: to.length });
      expect(copiesOf(place, to)).toEqual(to.map(() => 1));
    });

    it('crash in the middle: killed while delivering, started again, nothing lost and nothing twice', async () => {
      const dir = tempDir('ims-target-crash-');
      place = await kind.open(dir);
      const spool = path.join(dir, 'spool');
      const args = [...place.relayArgs(), '--spool', spool];
      relay = await startRelayProcess(args);
      const to = addresses(kind.batchSize < 1000 ? 5 : 300, 'crash');
      const killed = relay;
      place.killMidDelivery(() => killed.child.kill('SIGKILL'), to.length);
      const session = await SmtpSession.ready(relay.port);
      const reply = await session
        .submit(
          `<${SENDER}>`,
          to.map((a) => `<${a}>`),
          'Subject: crash case\r\n\r\nbody',
        )
        .catch((err: Error) => err.message)
        .finally(() => session.close());
      expect(await relay.exited).toBe('SIGKILL');
      // killed before the delivery was over: the entry is still queued
      const queued = fs.readdirSync(path.join(spool, 'in')).filter((n) => n.endsWith('.imsr'));
      expect(queued, `reply was: ${reply}`).toHaveLength(1);
      const before = copiesOf(place, to);
      expect(before.every((n) => n <= 1)).toBe(true);
      expect(before.filter((n) => n === 1).length).toBeLessThan(to.length);

      relay = await startRelayProcess(args);
      const done = place;
      await waitFor(
        'every recipient delivered after the restart',
        () => copiesOf(done, to).every((n) => n >= 1) && fs.readdirSync(path.join(spool, 'in')).length === 0,
        30_000,
      );
      expect(copiesOf(place, to)).toEqual(to.map(() => 1));
    });
  });
}
