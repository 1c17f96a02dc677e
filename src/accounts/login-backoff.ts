import { sql } from 'kysely';
import type { Db } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import { sha256 } from './credentials.js';

/** Failures allowed for free before the backoff starts. */
export const FREE_FAILURES = 5;
/** The first wait, doubled at each further attempt, up to MAX_DELAY_MS. */
const FIRST_DELAY_MS = 1_000;
/** The longest an account waits: an attacker can never keep its owner out for longer than this at a time. */
export const MAX_DELAY_MS = 15 * 60_000;

/**
 * Password attempts limited per account, whatever address they come from: after FREE_FAILURES
 * wrong passwords in a row, each further attempt makes the email wait twice as long (1 s, 2 s,
 * 4 s, ... at most 15 min). Attempts during a wait are refused without checking the password and
 * without counting, so the owner is never kept out longer than the cap; a right password after the
 * wait clears the count. Each attempt is counted before its password is checked, in one statement,
 * so a burst of parallel guesses cannot slip past the count. Kept in the database, so every node
 * sees the same count, and keyed by the email's hash whether or not it has an account, so a wait
 * tells nothing about who has one.
 */
export class LoginBackoff {
  constructor(private readonly db: Db) {}

  /** Counts one attempt for `email`; throws 429 (with Retry-After) while the email must wait. */
  async attempt(email: string): Promise<void> {
    const key = keyOf(email);
    const failures = sql<number>`login_failures.failures + 1`;
    const counted = await this.db
      .insertInto('login_failures')
      .values({ email_hash: key, failures: 1 })
      .onConflict((oc) =>
        oc
          .column('email_hash')
          .doUpdateSet({
            failures,
            last_failure_at: sql`now()`,
            blocked_until: sql`case when ${failures} > ${FREE_FAILURES}
              then now() + least(${MAX_DELAY_MS}::float8, ${FIRST_DELAY_MS}::float8 * power(2, least(${failures} - ${FREE_FAILURES} - 1, 30))) * interval '1 millisecond'
              end`,
          })
          .where((eb) => eb.or([eb('login_failures.blocked_until', 'is', null), eb('login_failures.blocked_until', '<=', sql<Date>`now()`)])),
      )
      .returning('failures')
      .executeTakeFirst();
    if (counted) {
      // Forget emails nobody has tried for a day (now and then: no job needed).
      if (Math.random() < 0.01) await this.db.deleteFrom('login_failures').where('last_failure_at', '<', sql<Date>`now() - interval '1 day'`).execute();
      return;
    }
    const row = await this.db
      .selectFrom('login_failures')
      .select(sql<number>`extract(epoch from blocked_until - now())`.as('seconds'))
      .where('email_hash', '=', key)
      .executeTakeFirst();
    const seconds = Math.max(1, Math.ceil(Number(row?.seconds ?? 1)));
    throw new AppError('rate_limited', `too many wrong passwords for this account; retry in ${seconds} s`, undefined, { 'retry-after': String(seconds) });
  }

  /** A right password: the count starts again. */
  async succeeded(email: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('email_hash', '=', keyOf(email)).execute();
  }
}

function keyOf(email: string): string {
  return sha256(email.trim().toLowerCase());
}
