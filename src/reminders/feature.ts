import type { App } from '../platform/http.js';
import { isUuid } from '../platform/http.js';
import { assetTags } from '../platform/web.js';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { DatabaseHandle } from '../platform/db/index.js';
import type { BackgroundJob, Feature } from '../platform/feature.js';
import type { Queue } from '../platform/queue.js';
import type { TalksService } from '../talks/service.js';
import { escapeHtml } from '../talks/page.js';
import { REMINDER_QUEUE, type ReminderJob, Reminders, smtpTransport } from './service.js';

export interface RemindersDeps {
  config: Config;
  log: Logger;
  db: DatabaseHandle;
  queue: Queue;
  talks: TalksService;
}

/** The reminders (tests drive a scan or a send through it). */
export interface RemindersFeature extends Feature {
  reminders: Reminders;
}

function page(title: string, body: string): string {
  let assets = '';
  try {
    assets = assetTags('replay');
  } catch {
    assets = '';
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · smalltalk</title><meta name="robots" content="noindex">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${assets}
</head><body><main class="page"><section class="card"><h1>${escapeHtml(title)}</h1>${body}</section></main></body></html>`;
}

/**
 * Reminder emails (needs SMTP_URL): the scan and the sending worker run on every serving node; the
 * unsubscribe links work whatever the configuration (they are in emails already sent).
 */
export function createReminders(services: RemindersDeps): RemindersFeature {
  const { config, log } = services;
  const transport = config.SMTP_URL
    ? smtpTransport(config.SMTP_URL)
    : {
        sendMail: async () => {
          throw new Error('SMTP_URL is not set');
        },
      };
  const reminders = new Reminders(services.db.db, services.queue, config, log.child({ component: 'reminders' }), transport, (t) => services.talks.shortUrl(t));

  let timer: NodeJS.Timeout | undefined;
  const job: BackgroundJob = {
    name: 'reminders',
    start: async () => {
      if (!config.SMTP_URL) {
        log.info('SMTP_URL is not set: no reminder emails are sent to talk subscribers');
        return;
      }
      const workerId = await services.queue.work<ReminderJob>(REMINDER_QUEUE, { pollingIntervalSeconds: 2 }, async (job) => {
        try {
          await reminders.send(job.data);
        } catch (err) {
          // pg-boss retries it (REMINDER_QUEUE jobs: 8 times, backing off from a minute).
          log.warn({ err, talkId: job.data.talkId, kind: job.data.kind }, 'a reminder email could not be sent; it will be retried');
          throw err;
        }
      });
      reminders.onQueued = () => services.queue.boss.notifyWorker(workerId);
      const scan = () => reminders.scan().catch((err) => log.error({ err }, 'reminder scan failed'));
      timer = setInterval(scan, config.REMINDER_SCAN_SECONDS * 1000);
      timer.unref();
      void scan();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      if (config.SMTP_URL) await services.queue.boss.offWork(REMINDER_QUEUE).catch(() => {});
    },
  };

  const publicRoutes = async (app: App) => {
    const resolve = async (params: unknown) => {
      const { id, sig } = params as { id: string; sig: string };
      if (!isUuid(id) || !reminders.verify(id, sig)) return null;
      const sub = await reminders.repo.subscriptionForUnsubscribe(id);
      const talk = sub ? await reminders.repo.talk(sub.partner_id, sub.talk_id) : undefined;
      return { id, sub, talk };
    };
    const invalid = page(
      'This link does not work',
      '<p>This unsubscribe link is not valid. Copy the whole link from the email, or use the one in a newer email.</p>',
    );

    // Opening the link asks first (mail scanners open links); the button, or a mail client's
    // one-click POST (RFC 8058, List-Unsubscribe-Post), unsubscribes.
    app.get('/unsubscribe/:id/:sig', { schema: { hide: true } }, async (request, reply) => {
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      const found = await resolve(request.params);
      if (!found) return reply.code(404).send(invalid);
      if (!found.sub) return reply.send(page('You are unsubscribed', '<p role="status">This address gets no more emails about this talk.</p>'));
      const what = found.talk ? escapeHtml(found.talk.name) : 'this talk';
      return reply.send(
        page(
          'Unsubscribe',
          `<p>Stop the emails to <strong>${escapeHtml(found.sub.email)}</strong> about <strong>${what}</strong>${found.talk?.schedule || found.talk?.schedule_talk_id ? ' and every talk of its series' : ''}?</p><form method="post"><button type="submit">Unsubscribe</button></form>`,
        ),
      );
    });

    app.post('/unsubscribe/:id/:sig', { schema: { hide: true } }, async (request, reply) => {
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      const found = await resolve(request.params);
      if (!found) return reply.code(404).send(invalid);
      if (found.sub) await reminders.repo.unsubscribe(found.sub.partner_id, found.sub.talk_id, found.sub.email);
      const what = found.talk ? ` about ${escapeHtml(found.talk.name)}` : '';
      return reply.send(
        page('You are unsubscribed', `<p role="status">${found.sub ? escapeHtml(found.sub.email) : 'This address'} gets no more emails${what}.</p>`),
      );
    });
  };
  return { name: 'reminders', reminders, queues: [REMINDER_QUEUE], background: [job], publicRoutes };
}
