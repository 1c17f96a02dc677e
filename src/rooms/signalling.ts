import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { SESSION_COOKIE } from '../platform/auth.js';
import type { AccountsService } from '../accounts/service.js';
import type { Config } from '../platform/config.js';
import type { TalksService } from '../talks/service.js';
import { type SessionHost, signHandoff, verifyHandoff } from './handoff.js';
import { RoomError } from './errors.js';
import { parseClientMessage, sendMessage } from './messages.js';
import { type ClientMessage, CloseCode, type JoinMessage, type ServerMessage, roomSocketUrl } from './protocol.js';
import type { Participant, Room } from './room.js';
import type { LiveRooms } from './service.js';

const PING_MS = 10_000;

/** What the socket needs besides the rooms: the talk by its code, who a session is, the config. */
export interface SignallingDeps {
  config: Config;
  talks: TalksService;
  accounts: AccountsService;
}

/**
 * The room's WebSocket at /t/:code/ws. Secrets (join tokens, invites, resume secrets) travel in
 * messages, never in the URL, so no request log ever holds them.
 */
export async function signallingRoutes(app: FastifyInstance, services: SignallingDeps, rooms: LiveRooms) {
  await app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 256 * 1024 } });
    scope.get('/t/:code/ws', { websocket: true, schema: { hide: true } }, (socket: WebSocket, request) => {
      const { code } = request.params as { code: string };
      let joined: { room: Room; participant: Participant } | null = null;
      let alive = true;
      const pinger = setInterval(() => {
        // The socket's liveness is how we notice a vanished participant (werift takes 25-30 s).
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, PING_MS);
      socket.on('pong', () => {
        alive = true;
      });
      const reply = (m: ServerMessage) => sendMessage(socket, m);
      const fail = (err: unknown) => {
        if (err instanceof RoomError) return reply({ type: 'error', code: err.code, message: err.message });
        request.log.error({ err }, 'room message failed');
        reply({ type: 'error', code: 'internal_error', message: 'something went wrong on our side' });
      };
      // The Origin decides before any message is handled: a refused socket handles none.
      const origin = request.headers.origin;
      let refused = false;
      let cookieHosts = origin === undefined;
      const originChecked = (async () => {
        const allowed = await originAllowed(services, rooms, code, origin);
        if (allowed === 'refused') {
          refused = true;
          reply({ type: 'error', code: 'forbidden', message: `this room does not accept sockets from ${origin}` });
          socket.close(CloseCode.refused, 'origin not allowed');
        }
        cookieHosts = allowed === 'own';
      })();
      let queue = originChecked.catch(fail);
      socket.on('message', (raw) => {
        alive = true;
        const text = String(raw);
        // One message at a time per socket, in order.
        queue = queue
          .then(() => {
            if (refused) return;
            return handle(parseClientMessage(text));
          })
          .catch(fail)
          .then(() => undefined);
      });
      socket.on('close', () => {
        clearInterval(pinger);
        if (joined) rooms.disconnected(joined.participant, socket);
      });

      async function handle(msg: ClientMessage) {
        if (msg.type === 'join') return join(msg);
        if (!joined || joined.participant.closed) throw new RoomError('bad_request', 'join first');
        const { room, participant } = joined;
        switch (msg.type) {
          case 'offer':
            reply({ type: 'answer', sdp: await rooms.offer(room, participant, msg.sdp), ...(msg.id === undefined ? {} : { id: msg.id }) });
            return;
          case 'candidate':
            // Trickle ICE: a client may offer before its gathering is done and send the rest here.
            if (msg.candidate) rooms.candidate(participant, msg.candidate);
            return;
          case 'leave':
            rooms.leave(room, participant);
            socket.close(CloseCode.left, 'left');
            return;
          case 'ping':
            reply({ type: 'pong' });
            return;
          default:
            await rooms.act(room, participant, msg);
        }
      }

      async function join(msg: JoinMessage) {
        if (joined) throw new RoomError('bad_request', 'already joined');
        const talk = await services.talks.byShortCode(code);
        if (!talk) throw new RoomError('not_found', 'no talk at this address');
        // A member of the talk's organization hosts: by their session cookie, or, sent here by
        // another node, by what that node's reading of the cookie said (handoff.ts).
        let sessionHost: SessionHost | null = verifyHandoff(services.config.SECRET_KEY, talk.id, msg.session);
        const handedOff = sessionHost !== null;
        // The cookie counts only on a socket opened by our own pages (or by a client with no Origin,
        // which no browser is): another site's page cannot host with a partner's cookie.
        const user = sessionHost || !cookieHosts ? null : await services.accounts.resolveSession(request.cookies?.[SESSION_COOKIE]);
        if (user && (await services.accounts.resolveMembership(user, talk.partner_id))) {
          sessionHost = { userId: user.userId, name: user.name, username: user.username, photoUrl: user.photo_url };
        }
        const result = await rooms.join(
          talk,
          {
            name: msg.name,
            username: msg.username,
            photo_url: msg.photo_url,
            token: msg.token,
            invite: msg.invite,
            resume: msg.resume,
            address: request.ip,
            device: msg.device,
          },
          sessionHost,
          socket,
        );
        if ('nodeUrl' in result && result.nodeUrl === null) {
          // This node is stopping, or the talk is hosted by another live node at this node's own
          // address (no NODE_PUBLIC_URL): nowhere to send the client. The page and the bot try again
          // (a load balancer may send them to another node next).
          socket.close(CloseCode.tryAgain, 'this talk cannot be joined on this node now: try again shortly');
          return;
        }
        if ('nodeUrl' in result) {
          // Another node hosts this talk's room: the client opens its socket there and joins again.
          const wsUrl = roomSocketUrl(new URL(`/t/${encodeURIComponent(code)}`, result.nodeUrl as string));
          // A handoff passes on what a cookie proved, once: one that came with this join goes on as
          // it is (its expiry too), so bouncing between nodes cannot keep renewing it.
          const session = handedOff ? msg.session : sessionHost ? signHandoff(services.config.SECRET_KEY, talk.id, sessionHost) : undefined;
          reply({ type: 'redirect', ws_url: wsUrl, session });
          socket.close(CloseCode.redirected, 'this talk is hosted by another node');
          return;
        }
        joined = result;
        const { tier, hls_url } = rooms.tierMessage(result.room, result.participant);
        reply({
          type: 'joined',
          participant_id: result.participant.id,
          resume: result.participant.resumeSecret,
          resumed: result.resumed,
          slots: rooms.slotCount(),
          ice_servers: iceServers(services),
          tier,
          hls_url,
        });
        result.room.sendState(result.participant);
        rooms.refresh(result.room);
        await rooms.sendBans(result.room, result.participant);
      }
    });
  });
}

/**
 * Which pages may open a talk's room socket: clients that send no Origin (bots, apps: no browser
 * omits it), our own origins (PUBLIC_URL, this node's NODE_PUBLIC_URL, the nodes hosting rooms),
 * and the talk's partner's embed origins (as guests or with join links, never by cookie).
 */
async function originAllowed(services: SignallingDeps, rooms: LiveRooms, code: string, origin: string | undefined): Promise<'own' | 'embed' | 'refused'> {
  if (origin === undefined) return 'own';
  const { PUBLIC_URL, NODE_PUBLIC_URL } = services.config;
  const originOf = (url: string) => new URL(url).origin;
  if (origin === originOf(PUBLIC_URL) || (NODE_PUBLIC_URL && origin === originOf(NODE_PUBLIC_URL))) return 'own';
  if ((await rooms.repo.nodeUrls()).some((u) => originOf(u) === origin)) return 'own';
  const talk = await services.talks.byShortCode(code);
  if (talk && (await services.accounts.embedOrigins(talk.partner_id)).includes(origin)) return 'embed';
  return 'refused';
}

function iceServers(services: Pick<SignallingDeps, 'config'>) {
  const c = services.config;
  if (!c.TURN_URLS) return [];
  return [{ urls: c.TURN_URLS.split(',').map((u) => u.trim()), username: c.TURN_USERNAME, credential: c.TURN_CREDENTIAL }];
}
