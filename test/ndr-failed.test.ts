/**
 * Event 4120 (Q272672: "an NDR could not be created"): the relay owes the sender a report and
 * cannot write it. Here the cause is the one the IMS articles name, a full disk — a real tmpfs
 * under the spool, filled by a real file — and the promise is the catalogue's: 4120 with the
 * error, the message stays queued (nothing half-written in out/ or tmp/), the report is tried
 * again and, once space returns, queued and delivered exactly once. And 4120 is logged only when
 * a report was owed (NOTIFY=NEVER: none is, so none can fail).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFailureRule, type FailureRule } from '../src/config/failure-rules.js';
import { capturedFiles } from './helpers/captured.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';
import { canMount, smallDisk } from './helpers/small-disk.js';

let relay: TestRelay | undefined;
const unmounts: (() => void)[] = [];
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
  for (const unmount of unmounts.splice(0)) unmount();
});

const rule = (source: string): FailureRule => {
  const parsed = parseFailureRule(source);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
};

describe.skipIf(!canMount)('event 4120: a report that cannot be written (a real full disk)', () => {
  it('logs 4120 with ENOSPC, keeps the message queued, and delivers the report once space returns', async () => {
    // 48 MB: above the default free-space threshold (1.5 x the 25 MB message limit), so MAIL is accepted
    const disk = smallDisk('48m')!;
    unmounts.push(disk.unmount);
    relay = await startTestRelay({
      spool: path.join(disk.dir, 'spool'),
      mode: 'capture',
      // first a temporary failure, so that the disk can be filled before the permanent one
      fail: ['*@bounce.test=451 4.3.0 Try again later'],
      retryInitial: '300ms',
      retryMax: '300ms',
    });
    const s = await SmtpSession.ready(relay.port);
    const body = ('z'.repeat(78) + '\r\n').repeat(500); // 40 KB: the report carries it (ndr-max-original-bytes 50KB)
    const reply = await s.submit(
      '<sender@example.test>',
      ['<x@bounce.test>'],
      `Subject: owed a report\r\n\r\n${body}`,
    );
    expect(reply).toMatch(/^250 /);
    const queueId = reply.split(' ').pop()!;
    s.close();
    await waitFor('the temporary failure in the journal', () =>
      fs.readFileSync(relay!.spool.journalPath('in', queueId), 'utf8').includes('"t":"deferred"'),
    );

    // the disk fills up: 16 KB are left, enough for journal records, not for the report
    const filler = path.join(disk.dir, 'filler');
    const free = () => {
      const st = fs.statfsSync(disk.dir);
      return st.bavail * st.bsize;
    };
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 16 * 1024)));
    relay.setFailureRules([rule('*@bounce.test=550 5.1.1 User unknown')]);

    const failed = await waitFor(
      'event 4120',
      () => relay!.eventsSeen().find((e) => e.id === 4120 && e.queueId === queueId),
      20_000,
    );
    expect(failed.data?.code).toBe('ENOSPC');
    expect(String(failed.data?.error)).toMatch(/ENOSPC/);
    // the message is kept, and no report (nor a piece of one) was left behind
    expect(await relay.spool.list('in')).toEqual([queueId]);
    expect(await relay.spool.list('out')).toEqual([]);
    expect(fs.readdirSync(relay.spool.folder('tmp'))).toEqual([]);
    expect(capturedFiles(relay.config.spool, 'sender@example.test')).toHaveLength(0);

    // space returns: the report is made on the next try and delivered, once
    fs.rmSync(filler);
    await waitFor('the original archived', async () =>
      (await relay!.spool.list('archive')).includes(queueId),
    );
    await waitFor(
      'the report delivered',
      () => capturedFiles(relay!.config.spool, 'sender@example.test').length === 1,
    );
    await relay.delivery!.idle();
    const reports = capturedFiles(relay.config.spool, 'sender@example.test');
    expect(reports).toHaveLength(1);
    const report = fs.readFileSync(reports[0]!, 'utf8');
    expect(report).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/i);
    expect(report).toContain('x@bounce.test');
    const after = relay.eventsSeen().filter((e) => e.id === 4120).length;
    expect(relay.eventsSeen().filter((e) => e.id === 4117 && e.queueId === queueId)).toHaveLength(1);
    expect(relay.eventsSeen().filter((e) => e.id === 4120)).toHaveLength(after); // none after the report was made
  });

  it('logs no 4120 when no report is owed (NOTIFY=NEVER), disk full or not', async () => {
    const disk = smallDisk('48m')!;
    unmounts.push(disk.unmount);
    relay = await startTestRelay({
      spool: path.join(disk.dir, 'spool'),
      mode: 'capture',
      fail: ['*@bounce.test=451 4.3.0 Try again later'],
      retryInitial: '300ms',
      retryMax: '300ms',
    });
    const s = await SmtpSession.ready(relay.port);
    const body = ('z'.repeat(78) + '\r\n').repeat(500);
    await s.cmd('MAIL FROM:<sender@example.test>');
    expect(await s.cmd('RCPT TO:<x@bounce.test> NOTIFY=NEVER')).toMatch(/^250 /);
    await s.cmd('DATA');
    const reply = await s.cmd(`Subject: owed nothing\r\n\r\n${body}\r\n.`);
    expect(reply).toMatch(/^250 /);
    const queueId = reply.split(' ').pop()!;
    s.close();
    await waitFor('the temporary failure in the journal', () =>
      fs.readFileSync(relay!.spool.journalPath('in', queueId), 'utf8').includes('"t":"deferred"'),
    );
    const filler = path.join(disk.dir, 'filler');
    const st = fs.statfsSync(disk.dir);
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, st.bavail * st.bsize - 16 * 1024)));
    relay.setFailureRules([rule('*@bounce.test=550 5.1.1 User unknown')]);
    await waitFor('the original archived', async () =>
      (await relay!.spool.list('archive')).includes(queueId),
    );
    await relay.delivery!.idle();
    expect(relay.eventsSeen().filter((e) => e.id === 4120)).toEqual([]);
    expect(relay.eventsSeen().filter((e) => e.id === 4117 && e.queueId === queueId)).toHaveLength(1);
    expect(await relay.spool.list('out')).toEqual([]);
    fs.rmSync(filler);
  });
});
