import { newSecret, sha256 } from '../accounts/credentials.js';
import type { App } from '../platform/http.js';
import { AppError, notFound, validation } from '../platform/errors.js';
import { iso } from '../platform/http.js';
import { escapeHtml } from '../talks/page.js';
import type { TalksService } from '../talks/service.js';
import {
  SubscribeBody,
  createInviteSchema,
  presentSchema,
  createJoinTokenSchema,
  listInvitesSchema,
  listSubscriptionsSchema,
  revokeInviteSchema,
} from './schemas.js';
import { presentPeople } from './page.js';
import type { LiveRooms } from './service.js';

function expiryOf(value: string | null | undefined): Date | null {
  if (!value) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw validation('expiry must be an ISO 8601 date-time', 'expiry');
  if (d.getTime() <= Date.now()) throw validation('expiry must be in the future', 'expiry');
  return d;
}

/**
 * An iCalendar content line folded as RFC 5545 (3.1) asks: at most 75 octets a line, each
 * continuation starting with a space; never inside a UTF-8 character.
 */
export function foldLine(line: string): string {
  const out: string[] = [];
  let current = '';
  let octets = 0;
  for (const ch of line) {
    const size = Buffer.byteLength(ch);
    if (octets + size > 75) {
      out.push(current);
      current = ' ';
      octets = 1;
    }
    current += ch;
    octets += size;
  }
  out.push(current);
  return out.join('\r\n');
}

function checkPhoto(url: string | null | undefined) {
  if (!url) return;
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return;
  } catch {
    // fall through
  }
  throw validation('photo_url must be an http(s) URL', 'photo_url');
}

/** Partner endpoints of the live room: join tokens, invites, subscriptions. */
export function partnerLiveRoutes(rooms: LiveRooms, talks: TalksService) {
  return async (app: App) => {
    app.post('/api/v1/partners/talks/:id/join_tokens', { schema: createJoinTokenSchema }, async (request) => {
      const talk = await talks.get(request.partner.partnerId, request.params.id);
      checkPhoto(request.body.photo_url);
      const token = newSecret(24);
      const row = await rooms.repo.insertJoinToken(request.partner.partnerId, talk.id, {
        token_hash: sha256(token),
        uid: request.body.uid ?? null,
        name: request.body.name.trim(),
        username: request.body.username ?? null,
        photo_url: request.body.photo_url ?? null,
        role: request.body.role ?? 'listener',
        expires_at: expiryOf(request.body.expiry),
      });
      return {
        join_token: { token, join_url: `${talks.shortUrl(talk)}#token=${token}`, role: row.role, expires_at: iso(row.expires_at) },
        error: null,
      };
    });

    const inviteJson = (row: {
      id: string;
      talk_id: string;
      max_uses: number | null;
      uses: number;
      expires_at: Date | null;
      revoked_at: Date | null;
      created_at: Date;
    }) => ({
      id: row.id,
      talk_id: row.talk_id,
      max_uses: row.max_uses,
      uses: row.uses,
      expires_at: iso(row.expires_at),
      revoked_at: iso(row.revoked_at),
      created_at: iso(row.created_at) as string,
    });

    app.post('/api/v1/partners/talks/:id/invites', { schema: createInviteSchema }, async (request) => {
      const talk = await talks.get(request.partner.partnerId, request.params.id);
      const secret = newSecret(18);
      const row = await rooms.repo.insertInvite(request.partner.partnerId, talk.id, {
        token_hash: sha256(secret),
        max_uses: request.body.max_uses ?? null,
        expires_at: expiryOf(request.body.expiry),
      });
      return { invite: { ...inviteJson(row), join_url: `${talks.shortUrl(talk)}#invite=${secret}` }, error: null };
    });

    app.get('/api/v1/partners/talks/:id/invites', { schema: listInvitesSchema }, async (request) => {
      const talk = await talks.get(request.partner.partnerId, request.params.id);
      return { invites: (await rooms.repo.listInvites(request.partner.partnerId, talk.id)).map(inviteJson), error: null };
    });

    app.delete('/api/v1/partners/talks/:id/invites/:invite_id', { schema: revokeInviteSchema }, async (request) => {
      const talk = await talks.get(request.partner.partnerId, request.params.id);
      const row = await rooms.repo.revokeInvite(request.partner.partnerId, talk.id, request.params.invite_id);
      if (!row) throw notFound('invite', 'invite_id');
      return { invite: inviteJson(row), error: null };
    });

    app.get('/api/v1/partners/talks/:id/subscriptions', { schema: listSubscriptionsSchema }, async (request) => {
      const talk = await talks.get(request.partner.partnerId, request.params.id);
      const rows = await rooms.repo.listSubscriptions(request.partner.partnerId, talk.id);
      return { subscriptions: rows.map((r) => ({ id: r.id, email: r.email, name: r.name, created_at: iso(r.created_at) as string })), error: null };
    });
  };
}

/** The page's public actions: subscribe (stores the subscription) and the .ics calendar file. */
export function publicLiveRoutes(services: { talks: TalksService; live: LiveRooms }) {
  return async (app: App) => {
    app.post('/t/:code/subscribe', { schema: { hide: true, body: SubscribeBody } }, async (request) => {
      const { code } = request.params as { code: string };
      const talk = await services.talks.byShortCode(code);
      if (!talk) throw new AppError('not_found', 'no talk at this address');
      if (!talk.subscriptions_allowed) throw new AppError('forbidden', 'this talk does not take subscriptions');
      const body = request.body as { email: string; name?: string };
      await services.live.repo.insertSubscription(talk.partner_id, talk.id, body.email.trim(), body.name?.trim() || null);
      return { subscription: { talk_id: talk.id, calendar_url: `${services.talks.shortUrl(talk)}/calendar.ics` }, error: null };
    });

    // The page before joining polls this: who is there now, without joining the media.
    app.get('/t/:code/present', { schema: presentSchema }, async (request, reply) => {
      const talk = await services.talks.byShortCode(request.params.code);
      if (!talk) throw new AppError('not_found', 'no talk at this address');
      reply.header('cache-control', 'no-store');
      return { present: await presentPeople(services.live, talk), error: null };
    });

    // The bot accepts a talk id: this points it at the talk's page.
    app.get('/t/by-id/:id', { schema: { hide: true } }, async (request, reply) => {
      const talk = await services.talks.byIdForRoom((request.params as { id: string }).id);
      if (!talk) throw new AppError('not_found', 'no such talk');
      return reply.redirect(services.talks.shortUrl(talk), 302);
    });

    app.get('/t/:code/calendar.ics', { schema: { hide: true } }, async (request, reply) => {
      const { code } = request.params as { code: string };
      const talk = await services.talks.byShortCode(code);
      if (!talk) throw new AppError('not_found', 'no talk at this address');
      const stamp = (d: Date) =>
        d
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d{3}/, '');
      const text = (s: string) => s.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');
      const start = talk.start_time ?? new Date();
      const end = talk.end_time ?? new Date(start.getTime() + 3600_000);
      const url = services.talks.shortUrl(talk);
      const lines = [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//smalltalk//live talks//EN',
        'BEGIN:VEVENT',
        `UID:${talk.id}@smalltalk`,
        `DTSTAMP:${stamp(new Date())}`,
        `DTSTART:${stamp(start)}`,
        `DTEND:${stamp(end)}`,
        `SUMMARY:${text(talk.name)}`,
        `DESCRIPTION:${text(`${talk.description ?? ''}\n${url}`.trim())}`,
        `URL:${url}`,
        'END:VEVENT',
        'END:VCALENDAR',
      ];
      return reply
        .type('text/calendar; charset=utf-8')
        .header('content-disposition', `attachment; filename="${escapeHtml(talk.short_code)}.ics"`)
        .send(`${lines.map(foldLine).join('\r\n')}\r\n`);
    });
  };
}
