import { sql } from 'kysely';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner } from '../support/app.js';
import { LoginRefused, logIn } from '../support/session.js';
import type { IdPool, Identity } from './fuzzer.js';

/** The environment a fuzzed app runs with: no rate limit in the way, webhooks that cannot reach out. */
/**
 * The job queue, as on a serving node (routes such as a webhook's test enqueue jobs); the other
 * background work (deliveries, rooms, recording) stays off, so the heap measured is the API's.
 */
export async function startQueue(t: TestApp): Promise<void> {
  await t.services.background.find((job) => job.name === 'queue')?.start();
}

export const fuzzEnv = {
  RATE_LIMIT_PER_MINUTE: '100000000',
  WEBHOOK_ALLOW_PRIVATE_URLS: 'false',
  WEBHOOK_ALLOW_HTTP: 'false',
  WEBHOOK_TIMEOUT_MS: '300',
  TALK_LIST_CACHE_MB: '4',
};

interface Seeded {
  partner: TestPartner;
  session: string;
  csrf: string;
  ids: string[];
}

/** A partner with a token, a dashboard session, and one of everything (ids for the fuzzer). */
async function seed(t: TestApp, name: string): Promise<Seeded> {
  const partner = await createPartner(t, name);
  const auth = { token: partner.token };
  const talk = (await api(t, 'POST', '/api/p/talk', { ...auth, json: { name: `${name} talk`, subscriptions_allowed: true } })).body.talk;
  const second = (
    await api(t, 'POST', '/api/p/talk', {
      ...auth,
      json: { name: `${name} series`, start_time: new Date(Date.now() + 86_400_000).toISOString(), schedule: 'FREQ=WEEKLY;COUNT=3' },
    })
  ).body.talk;
  const group = (await api(t, 'POST', '/api/v1/partners/groups', { ...auth, json: { name: `${name} group` } })).body.group;
  const theme = (await api(t, 'POST', '/api/v1/partners/themes', { ...auth, json: { name: `${name} theme` } })).body.theme;
  const hook = (await api(t, 'POST', '/api/v1/partners/webhooks', { ...auth, json: { url: 'https://example.test/hook' } })).body.webhook;
  const invite = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/invites`, { ...auth, json: { email: 'guest@example.test' } })).body;
  const recording = await sql<{ id: string }>`insert into recordings (partner_id, talk_id, status, file_name, storage_key)
    values (${partner.partnerId}::uuid, ${talk.id}::uuid, 'ready', 'r.webm', ${`fuzz/${talk.id}`}) returning id`.execute(t.services.db.db);
  const { cookie: session, 'x-csrf-token': csrf } = await logInAsClientWould(t, partner);
  const shortCode = (url: string) => new URL(url).pathname.split('/').pop() as string;
  const ids = [
    talk.id,
    second.id,
    shortCode(talk.short_url),
    group?.id,
    theme?.id,
    hook?.id,
    invite?.invite?.id ?? invite?.id,
    recording.rows[0].id,
    partner.partnerId,
    partner.userId,
  ].filter((id): id is string => typeof id === 'string');
  return { partner, session, csrf, ids };
}

/** Identities and ids for `fuzz`: partner A's token and session, B's token, none, and broken credentials. */
export async function fuzzTarget(t: TestApp): Promise<{ identities: Identity[]; ids: IdPool; alive: () => Promise<boolean> }> {
  const a = await seed(t, 'Fuzz A');
  const b = await seed(t, 'Fuzz B');
  // Ids only A owns: what B must never see (the partner and user ids are public enough to skip).
  const privateOfA = a.ids.filter((id) => id !== a.partner.partnerId && id !== a.partner.userId && id.length === 36);
  const session = (s: Seeded, partnerId: string, csrf: boolean) => (method: string) => ({
    cookie: s.session,
    'x-partner-id': partnerId,
    ...(csrf && method !== 'GET' ? { 'x-csrf-token': s.csrf } : {}),
  });
  const identities: Identity[] = [
    { label: 'anonymous', headers: () => ({}) },
    { label: 'token A', headers: () => ({ authorization: `Bearer ${a.partner.token}` }) },
    { label: 'session A', headers: session(a, a.partner.partnerId, true) },
    { label: 'token B', headers: () => ({ authorization: `Bearer ${b.partner.token}` }), mustNotSee: privateOfA },
    { label: 'session B', headers: session(b, b.partner.partnerId, true), mustNotSee: privateOfA },
    { label: 'session A without CSRF', headers: session(a, a.partner.partnerId, false) },
    { label: 'session B naming A', headers: session(b, a.partner.partnerId, true), mustNotSee: privateOfA },
    { label: 'unknown token', headers: () => ({ authorization: 'Bearer st_unknown0000000000000000000000' }) },
  ];
  const alive = async () => {
    const token = await api(t, 'GET', '/api/v1/partners/themes?limit=1', { token: a.partner.token });
    const me = await fetch(`${t.url}/api/v1/auth/me`, { headers: { cookie: a.session } });
    const other = await api(t, 'GET', '/api/v1/partners/themes?limit=1', { token: b.partner.token });
    return token.status === 200 && me.status === 200 && other.status === 200;
  };
  return { identities, ids: { own: a.ids, other: b.ids }, alive };
}

/**
 * The fuzzer's own requests to the login endpoint count against the address's login limit (10 a
 * minute), so a re-provisioning login can be refused with 429: wait out its Retry-After, as a
 * client would, and try again (a few times at most).
 */
async function logInAsClientWould(t: TestApp, who: { email: string; password: string }) {
  for (let tries = 1; ; tries++) {
    try {
      return await logIn(t, who);
    } catch (err) {
      if (!(err instanceof LoginRefused) || err.status !== 429 || tries >= 4) throw err;
      await new Promise((r) => setTimeout(r, Math.max(1, err.retryAfterS) * 1000));
    }
  }
}
