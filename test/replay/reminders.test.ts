import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureWebBuilt, launchChromium, screenshotPath } from '../support/chromium.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { startSmtp } from '../support/smtp.js';
import { addRecording } from './fixtures.js';

type Smtp = Awaited<ReturnType<typeof startSmtp>>;

/** A raw message's header (unfolded), or undefined. */
const header = (raw: string, name: string) => {
  const head = raw.split('\n\n')[0]?.replace(/\n[ \t]+/g, ' ') ?? '';
  return new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1];
};
/** The body with quoted-printable soft breaks undone. */
const body = (raw: string) =>
  raw
    .slice(raw.indexOf('\n\n') + 2)
    .replace(/=\n/g, '')
    .replace(/=3D/g, '=');
const to = (raw: string) => header(raw, 'To');

/**
 * Reminder emails, received by a real SMTP conversation: before a talk starts and when its public
 * replay is ready, to the talk's subscribers and its series'; each with a working one-click unsubscribe.
 */
describe('reminders', () => {
  let smtp: Smtp;
  let t: TestApp;
  let p: TestPartner;
  const env = (port: number) => ({
    SMTP_URL: `smtp://127.0.0.1:${port}`,
    MAIL_FROM: 'Talks <talks@example.test>',
    REMINDER_LEAD_MINUTES: '15',
    REMINDER_SCAN_SECONDS: '0.5',
  });
  const subscribe = (url: string, email: string) => api(t, 'POST', `${new URL(url).pathname}/subscribe`, { json: { email, name: 'Sam' } });
  const mailsTo = (email: string) => smtp.received.filter((m) => to(m)?.includes(email));

  before(async () => {
    ensureWebBuilt();
    smtp = await startSmtp();
    t = await startApp({ env: env(smtp.port) });
    p = await createPartner(t, 'Garden Radio');
  });
  after(async () => {
    await t?.close();
    smtp?.close();
  });

  test('a subscriber gets "starting soon" once, within the lead time, with List-Unsubscribe headers; the one-click link works in Chromium', async () => {
    const later = (
      await api(t, 'POST', '/api/p/talk', {
        token: p.token,
        json: { name: 'Far away', subscriptions_allowed: true, start_time: new Date(Date.now() + 3 * 3600_000).toISOString() },
      })
    ).body.talk;
    const soon = (
      await api(t, 'POST', '/api/p/talk', {
        token: p.token,
        json: { name: 'Seed swap <live>', subscriptions_allowed: true, start_time: new Date(Date.now() + 10 * 60_000).toISOString() },
      })
    ).body.talk;
    assert.equal((await subscribe(later.short_url, 'far@example.test')).status, 200);
    assert.equal((await subscribe(soon.short_url, 'sam@example.test')).status, 200);

    const [mail] = await waitFor(() => (mailsTo('sam@example.test').length ? mailsTo('sam@example.test') : null), 'the reminder email', 30_000);
    assert.ok(mail);
    assert.equal(header(mail, 'Subject'), 'Starting soon: Seed swap <live>');
    assert.match(body(mail), new RegExp(soon.short_url.replace(/[.]/g, '\\.')));
    const link = /<(http[^>]+)>/.exec(header(mail, 'List-Unsubscribe') ?? '')?.[1];
    assert.ok(link, header(mail, 'List-Unsubscribe'));
    assert.equal(header(mail, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
    assert.ok(body(mail).includes(link), 'the body has the unsubscribe link too');

    // The talk three hours away is not due: nothing for it. Scanning again queues nothing more.
    assert.equal(await t.services.reminders.scan(), 0);
    assert.equal(mailsTo('far@example.test').length, 0);
    // The job, run again (a retry after a crash), does not mail twice.
    const sub = await t.services.db.db.selectFrom('talk_subscriptions').selectAll().where('email', '=', 'sam@example.test').executeTakeFirstOrThrow();
    assert.equal(
      await t.services.reminders.send({ partnerId: p.partnerId, talkId: soon.id, kind: 'starting', subscriptionId: sub.id, email: sub.email }),
      'already sent',
    );
    assert.equal(mailsTo('sam@example.test').length, 1);

    // A tampered link does not work.
    assert.equal((await fetch(`${link.slice(0, -3)}abc`)).status, 404);
    // Opening the link asks; the button unsubscribes.
    const { context, userDataDir } = await launchChromium(t.url, { width: 360, height: 740 });
    try {
      const page = await context.newPage();
      await page.goto(link);
      await page.getByText('sam@example.test').waitFor();
      assert.ok(await t.services.db.db.selectFrom('talk_subscriptions').select('id').where('id', '=', sub.id).executeTakeFirst(), 'opening alone keeps it');
      await page.getByRole('button', { name: 'Unsubscribe' }).click();
      await page.getByRole('status').filter({ hasText: 'sam@example.test gets no more emails about Seed swap <live>' }).waitFor();
      await page.screenshot({ path: screenshotPath('unsubscribed.png') });
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
    assert.equal(await t.services.db.db.selectFrom('talk_subscriptions').select('id').where('id', '=', sub.id).executeTakeFirst(), undefined);
    // A mail client's one-click POST (RFC 8058) on the same link answers 200, unsubscribed or not.
    const oneClick = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    assert.equal(oneClick.status, 200);
  });

  test('a series: one subscription gets each occurrence; the replay email goes out when a public recording is ready, not for a private one', async () => {
    const start = new Date(Date.now() + 5 * 60_000);
    const head = (
      await api(t, 'POST', '/api/p/talk', {
        token: p.token,
        json: { name: 'Weekly compost clinic', subscriptions_allowed: true, start_time: start.toISOString(), schedule: 'FREQ=WEEKLY;COUNT=3' },
      })
    ).body.talk;
    const occurrences = await t.services.db.db.selectFrom('talks').selectAll().where('schedule_talk_id', '=', head.id).orderBy('start_time').execute();
    assert.equal(occurrences.length, 2);
    // Subscribed on the second occurrence's page: that covers the series, this week's talk included.
    const second = occurrences[0] as (typeof occurrences)[number];
    assert.equal((await api(t, 'POST', `/t/${second.short_code}/subscribe`, { json: { email: 'ria@example.test' } })).status, 200);
    const first = await waitFor(() => mailsTo('ria@example.test')[0], 'the first occurrence reminder', 30_000);
    assert.equal(header(first, 'Subject'), 'Starting soon: Weekly compost clinic');
    assert.ok(body(first).includes(head.short_url));
    // A week on, the second occurrence is due: the same subscriber gets it (the scan is given that time).
    const weekOn = new Date(second.start_time?.getTime() ?? 0);
    weekOn.setMinutes(weekOn.getMinutes() - 5);
    assert.equal(await t.services.reminders.scan(weekOn), 1);
    const both = await waitFor(() => (mailsTo('ria@example.test').length >= 2 ? mailsTo('ria@example.test') : null), 'the second occurrence reminder', 30_000);
    assert.ok((both[1] as string).includes(`/t/${second.short_code}`));

    // The first talk ends; a private recording mails nobody, once public (and ready, transcribed) the replay email goes out.
    await api(t, 'POST', `/api/v1/partners/talks/${head.id}/end`, { token: p.token });
    const rec = await addRecording(t, p, head.id, { share: 'private' });
    assert.equal(await t.services.reminders.scan(), 0);
    await api(t, 'PATCH', `/api/v1/partners/recordings/${rec.id}`, { token: p.token, json: { share_permission: 'public' } });
    const replay = await waitFor(() => mailsTo('ria@example.test').find((m) => header(m, 'Subject')?.startsWith('Replay ready')), 'the replay email', 30_000);
    assert.equal(header(replay, 'Subject'), 'Replay ready: Weekly compost clinic');
    assert.ok(header(replay, 'List-Unsubscribe'));

    // Unsubscribing (one-click POST) from the replay email stops the series: the third occurrence mails nobody.
    const link = /<(http[^>]+)>/.exec(header(replay, 'List-Unsubscribe') ?? '')?.[1] as string;
    assert.equal(
      (await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status,
      200,
    );
    const third = occurrences[1] as (typeof occurrences)[number];
    const beforeThird = new Date((third.start_time?.getTime() ?? 0) - 5 * 60_000);
    assert.equal(await t.services.reminders.scan(beforeThird), 0);
  });

  test('a restart loses no reminder and sends none twice: jobs queued before a stop are sent by the next start, once', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-reminders-'));
    const mail = await startSmtp();
    try {
      // First run: the scan queues the email, then the node stops before any worker sends it.
      const a = await startApp({ env: env(mail.port), dataDir, onDisk: true, background: false });
      const pa = await createPartner(a, 'Restart Radio');
      const talk = (
        await api(a, 'POST', '/api/p/talk', {
          token: pa.token,
          json: { name: 'After the restart', subscriptions_allowed: true, start_time: new Date(Date.now() + 10 * 60_000).toISOString() },
        })
      ).body.talk;
      assert.equal((await api(a, 'POST', `${new URL(talk.short_url).pathname}/subscribe`, { json: { email: 'kim@example.test' } })).status, 200);
      await a.services.queue.start(a.services.queueNames);
      assert.equal(await a.services.reminders.scan(), 1);
      await a.close();
      assert.equal(mail.received.length, 0);

      // Second run on the same data: the worker sends it; its own scans queue nothing more.
      const b = await startApp({ env: env(mail.port), dataDir, onDisk: true });
      try {
        await waitFor(() => mail.received.length > 0, 'the queued reminder after the restart', 60_000);
        assert.equal(await b.services.reminders.scan(), 0);
        // The worker records the send once the SMTP server has accepted the message, a moment after
        // the server has it: wait for that row rather than read it at once.
        const batch = await waitFor(
          async () => {
            const rows = await b.services.db.db.selectFrom('reminder_sends').selectAll().execute();
            return rows.length > 0 ? rows : null;
          },
          'the send to be recorded',
          10_000,
        );
        assert.equal(batch.length, 1);
        assert.equal(mail.received.length, 1);
        assert.equal(header(mail.received[0] as string, 'Subject'), 'Starting soon: After the restart');
      } finally {
        await b.close();
      }
    } finally {
      mail.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
