import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { safeEqual } from '../platform/compare.js';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/index.js';
import type { Talk } from '../platform/db/schema.js';
import type { Queue } from '../platform/queue.js';
import { type ReminderKind, RemindersRepository } from './repository.js';

/** The queue of reminder emails: one job per address and talk and kind. */
export const REMINDER_QUEUE = 'reminder.send';

export interface ReminderJob {
  partnerId: string;
  talkId: string;
  kind: ReminderKind;
  subscriptionId: string;
  email: string;
}

/** What sends a message (nodemailer's transport in production and tests: a real SMTP conversation). */
export interface MailTransport {
  sendMail(message: { from: string; to: string; subject: string; text: string; headers: Record<string, string> }): Promise<unknown>;
}

/**
 * Reminder emails to a talk's subscribers: shortly before it starts, and when its public replay is
 * ready. A scan (every REMINDER_SCAN_SECONDS, on every node) claims a talk's batch and queues one job
 * per address in the same transaction, so a restart loses none and two nodes queue them once; a job
 * records the address it mailed, so a retry does not mail it twice.
 */
export class Reminders {
  readonly repo: RemindersRepository;
  /** Set once the worker runs: wakes it when this node queued jobs. */
  onQueued: () => void = () => {};

  constructor(
    private readonly db: Db,
    private readonly queue: Queue,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly transport: MailTransport,
    private readonly shortUrl: (t: Pick<Talk, 'short_code'>) => string,
  ) {
    this.repo = new RemindersRepository(db);
  }

  /** Queues the emails now due; returns how many were queued. */
  async scan(now = new Date()): Promise<number> {
    const due: [Talk, ReminderKind][] = [
      ...(await this.repo.dueToStart(now, this.config.REMINDER_LEAD_MINUTES * 60_000)).map((t) => [t, 'starting'] as [Talk, ReminderKind]),
      ...(await this.repo.replaysReady(now, this.config.TRANSCRIBE_ENGINE !== 'none')).map((t) => [t, 'replay'] as [Talk, ReminderKind]),
    ];
    let queued = 0;
    for (const [talk, kind] of due) {
      queued += await this.db.transaction().execute(async (tx) => {
        const recipients = await this.repo.recipients(tx, talk);
        if (!(await this.repo.claimBatch(tx, talk, kind, recipients.length))) return 0;
        for (const r of recipients) {
          const job: ReminderJob = { partnerId: talk.partner_id, talkId: talk.id, kind, subscriptionId: r.subscription_id, email: r.email };
          await this.queue.sendInTx(tx, REMINDER_QUEUE, job, {
            singletonKey: `${talk.id}:${kind}:${r.email.toLowerCase()}`,
            retryLimit: 8,
            retryDelay: 60,
            retryBackoff: true,
          });
        }
        return recipients.length;
      });
    }
    if (queued > 0) {
      this.log.info({ queued }, 'reminder emails queued');
      this.onQueued();
    }
    return queued;
  }

  /** Sends one queued email, unless it was sent already or is no longer wanted: what happened. */
  async send(job: ReminderJob): Promise<'sent' | 'already sent' | 'unsubscribed' | 'not due'> {
    if (await this.repo.sent(job.talkId, job.kind, job.email)) return 'already sent';
    const sub = await this.repo.subscription(job.partnerId, job.subscriptionId);
    if (!sub) return 'unsubscribed';
    const talk = await this.repo.talk(job.partnerId, job.talkId);
    if (!talk || (job.kind === 'starting' && talk.status === 'ended')) return 'not due';
    const unsubscribe = this.unsubscribeUrl(sub.id);
    const url = this.shortUrl(talk);
    const when = talk.start_time ? talk.start_time.toUTCString().replace(/:00 GMT$/, ' UTC') : 'soon';
    const message =
      job.kind === 'starting'
        ? {
            subject: `Starting soon: ${talk.name}`,
            text: `${talk.name} starts ${talk.status === 'live' ? 'now' : `at ${when}`}.\n\nJoin here:\n${url}\n${talk.description ? `\n${talk.description}\n` : ''}`,
          }
        : {
            subject: `Replay ready: ${talk.name}`,
            text: `The replay of ${talk.name} is ready: listen, with its transcript, here:\n${url}\n`,
          };
    await this.transport.sendMail({
      from: this.config.MAIL_FROM,
      to: sub.email,
      subject: message.subject.replace(/[\r\n]+/g, ' '),
      text: `${message.text}\n--\nYou get this because you subscribed to this talk on smalltalk. Unsubscribe with one click:\n${unsubscribe}\n`,
      headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    await this.repo.markSent(job.partnerId, job.talkId, job.kind, job.email);
    this.log.info({ talkId: job.talkId, kind: job.kind }, 'reminder email sent');
    return 'sent';
  }

  /** The signed one-click unsubscribe link of a subscription (no expiry: it is in emails people keep). */
  unsubscribeUrl(subscriptionId: string): string {
    return `${this.config.PUBLIC_URL}/unsubscribe/${subscriptionId}/${this.sign(subscriptionId)}`;
  }

  sign(subscriptionId: string): string {
    return createHmac('sha256', this.config.SECRET_KEY).update(`unsubscribe:${subscriptionId}`).digest('base64url');
  }

  verify(subscriptionId: string, sig: string): boolean {
    return safeEqual(sig, this.sign(subscriptionId));
  }
}

/** The SMTP transport SMTP_URL names. */
export function smtpTransport(smtpUrl: string): MailTransport {
  return nodemailer.createTransport(smtpUrl);
}
