import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

/** What the accounts feature sends by email. */
export interface Mailer {
  /** Sends a password reset link, or (without SMTP) writes it to the log for the operator. */
  sendPasswordReset(to: string, link: string): Promise<void>;
  /** Tells an account's owner that someone tried to sign up with their email (sign-up answers alike, so only they learn it). */
  sendSignUpAttempt(to: string, loginUrl: string): Promise<void>;
}

/**
 * SMTP through nodemailer when SMTP_URL is set. Without it, the reset link goes to the
 * operator's log, on purpose and alone: nothing else secret is ever logged.
 */
export function createMailer(options: { smtpUrl?: string; from: string; log: Logger }): Mailer {
  const { smtpUrl, from, log } = options;
  if (!smtpUrl) {
    return {
      async sendPasswordReset(to, link) {
        log.warn({ to, reset_link: link }, 'password reset requested; SMTP_URL is not set, so the link is here for the operator to pass on');
      },
      async sendSignUpAttempt(to) {
        log.info({ to }, "someone tried to sign up with an existing account's email; SMTP_URL is not set, so its owner is not told");
      },
    };
  }
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async sendPasswordReset(to, link) {
      await transport.sendMail({
        from,
        to,
        subject: 'Reset your smalltalk password',
        text: `Someone (hopefully you) asked to reset the password of your smalltalk account.\n\nOpen this link within an hour to choose a new one:\n${link}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
      });
      log.info({ to }, 'password reset email sent');
    },
    async sendSignUpAttempt(to, loginUrl) {
      await transport.sendMail({
        from,
        to,
        subject: 'Someone tried to sign up with your email',
        text: `Someone (perhaps you) just tried to create a smalltalk account with this email, which already has one. No second account was made.\n\nIf it was you, log in instead (or reset your password from there):\n${loginUrl}\n\nIf it was not you, you need not do anything.\n`,
      });
      log.info({ to }, 'sign-up attempt notice sent');
    },
  };
}
