/**
 * The one client of the room socket (protocol.ts), for the talk page, the bot and the tests: typed
 * messages both ways, joining (sent on to the node hosting the talk, back as the same participant
 * with the resume secret), negotiation messages and the close codes. Peer connections are the
 * caller's own (the browser's RTCPeerConnection, libwebrtc in the bot). Imports only protocol.ts, so
 * the page bundles it; the socket is the caller's too (the browser's WebSocket, or `ws` in Node).
 */
import {
  type ClientMessage,
  type IceCandidateInit,
  type JoinMessage,
  type RoomErrorCode,
  type RoomJoinedMessage,
  type RoomRedirectMessage,
  type ServerMessage,
  type ServerMessageOf,
  roomSocketUrl,
} from './protocol.js';

/** What the client reads of a socket's events (a message's `data`, a close's `code` and `reason`). */
export interface SocketEvent {
  type: string;
  data?: unknown;
  code?: number;
  reason?: unknown;
  /** An error's, in Node (`ws`); a browser says nothing of why. */
  message?: unknown;
}

/** The parts of a WebSocket the client uses: the browser's and `ws`'s both have them. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: SocketEvent) => void): void;
}

const OPEN = 1;

/** The room refused what was sent (its `error`): before `joined`, the join itself. */
export class RoomRefusal extends Error {
  constructor(
    readonly code: RoomErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The socket closed (or never opened) before the answer came. */
export class SocketClosed extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`the socket closed (${code}${reason ? ` ${reason}` : ''})`);
  }
}

/** Who joins: everything of `join` but the resume secret and the handoff, which the client adds. */
export type JoinFields = Omit<JoinMessage, 'type' | 'resume' | 'session'>;

type AnyHandler = (m: ServerMessage) => void;
type CloseHandler = (code: number, reason: string) => void;

/**
 * The handlers of messages and of the close, as RoomSocket (one socket's) and RoomConnection (the
 * current socket's, across reconnections) both take them.
 */
abstract class RoomEvents {
  private readonly handlers = new Set<AnyHandler>();
  private readonly closeHandlers = new Set<CloseHandler>();

  /** Every message, in order; returns the unsubscribe. */
  onMessage(handler: (m: ServerMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** The messages of one type; returns the unsubscribe. */
  on<T extends ServerMessage['type']>(type: T, handler: (m: ServerMessageOf<T>) => void): () => void {
    return this.onMessage((m) => {
      if (m.type === type) handler(m as ServerMessageOf<T>);
    });
  }

  /** The close, with its code (protocol.ts `CloseCode`; `isFinalClose` says whether to come back); returns the unsubscribe. */
  onClose(handler: CloseHandler): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  /** To every message handler: one that throws does not keep the message from the others. */
  protected emitMessage(m: ServerMessage) {
    for (const h of [...this.handlers]) {
      try {
        h(m);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  protected emitClose(code: number, reason: string) {
    for (const h of [...this.closeHandlers]) h(code, reason);
  }
}

/** One room socket: typed messages both ways, and answers awaited (failing as soon as the socket closes). */
export class RoomSocket extends RoomEvents {
  /** How it closed, once it did (the reason: the close's, else the error that closed it, if the socket said). */
  closed: { code: number; reason: string } | null = null;
  private error = '';
  /** Offers sent so far: the next one's id. */
  private offers = 0;

  constructor(readonly socket: SocketLike) {
    super();
    socket.addEventListener('message', (event) => this.receive(String(event.data)));
    socket.addEventListener('close', (event) => {
      // 1006: closed without a close frame (the browser and `ws` both say so themselves).
      this.closed = { code: event.code ?? 1006, reason: String(event.reason || this.error) };
      this.emitClose(this.closed.code, this.closed.reason);
    });
    // An error comes with a close, which is what everything here goes by (and `ws` without a
    // listener for it would throw it at the process).
    socket.addEventListener('error', (event) => {
      if (typeof event.message === 'string') this.error = event.message;
    });
  }

  get open() {
    return this.socket.readyState === OPEN && !this.closed;
  }

  /** Sends a message if the socket is open (false: it was not). */
  send(message: ClientMessage): boolean {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  close(code?: number, reason?: string) {
    this.socket.close(code, reason);
  }

  /** Resolves once the socket is open; rejects with SocketClosed if it closes first. */
  opened(): Promise<void> {
    if (this.closed) return Promise.reject(new SocketClosed(this.closed.code, this.closed.reason));
    if (this.socket.readyState === OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stop = this.onClose((code, reason) => reject(new SocketClosed(code, reason)));
      this.socket.addEventListener('open', () => {
        stop();
        resolve();
      });
    });
  }

  /**
   * The next message of one of `types` that `accept` takes (others of them are passed over); rejects
   * with SocketClosed if the socket closes first, or after `timeoutMs`.
   */
  next<T extends ServerMessage['type']>(
    types: T | readonly T[],
    timeoutMs = 15_000,
    accept: (m: ServerMessageOf<T>) => boolean = () => true,
  ): Promise<ServerMessageOf<T>> {
    const wanted = new Set<string>(typeof types === 'string' ? [types] : types);
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new SocketClosed(this.closed.code, this.closed.reason));
      const done = () => {
        clearTimeout(timer);
        stopMessages();
        stopClose();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${[...wanted].join(' or ')}`));
      }, timeoutMs);
      const stopMessages = this.onMessage((m) => {
        if (!wanted.has(m.type) || !accept(m as ServerMessageOf<T>)) return;
        done();
        resolve(m as ServerMessageOf<T>);
      });
      const stopClose = this.onClose((code, reason) => {
        done();
        reject(new SocketClosed(code, reason));
      });
    });
  }

  /**
   * Joins once the socket is open: resolves with `joined`, or with `redirect` (another node hosts the
   * talk: RoomConnection follows it); rejects with RoomRefusal (the room's `error`) or SocketClosed.
   */
  async join(join: Omit<JoinMessage, 'type'>, timeoutMs = 15_000): Promise<RoomJoinedMessage | RoomRedirectMessage> {
    // Listening from now: a refusal may come before the join is sent (the page's origin), even in the
    // same read as the socket's opening.
    const answer = this.next(['joined', 'redirect', 'error'], timeoutMs);
    answer.catch(() => undefined); // a close rejects opened() too, which is what this call reports
    await this.opened();
    this.send({ type: 'join', ...join });
    return refusedIfError(await answer);
  }

  /**
   * Sends an offer and resolves with the SFU's answer to it (its sdp; an answer to an earlier offer is
   * passed over); rejects with RoomRefusal or SocketClosed.
   */
  async offer(sdp: string, timeoutMs = 15_000): Promise<string> {
    const id = ++this.offers;
    const answer = this.next(['answer', 'error'], timeoutMs, (m) => m.type !== 'answer' || m.id === undefined || m.id === id);
    this.send({ type: 'offer', sdp, id });
    return refusedIfError(await answer).sdp;
  }

  /** A candidate gathered after the offer (trickle ICE). */
  candidate(candidate: IceCandidateInit) {
    this.send({ type: 'candidate', candidate: { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex } });
  }

  private receive(text: string) {
    let m: ServerMessage;
    try {
      m = JSON.parse(text);
    } catch {
      return; // not ours to read
    }
    this.emitMessage(m);
  }
}

function refusedIfError<M extends ServerMessage>(m: M | ServerMessageOf<'error'>): M {
  if (m.type === 'error') throw new RoomRefusal(m.code, m.message);
  return m as M;
}

export interface RoomConnectionOptions {
  /** The talk page's URL (its short URL, or a join URL) on the server to connect through. */
  pageUrl: string | URL;
  /** Opens a socket: `(url) => new WebSocket(url)` (the browser's, or `ws`'s in Node). */
  open: (url: string) => SocketLike;
  /** Who joins; sent with every join. */
  join: JoinFields;
  /** A resume secret from an earlier visit (a reload of the page). */
  resume?: string | null;
  /** How many times one connect follows `redirect` before giving up (claims changing hands). */
  maxRedirects?: number;
}

/**
 * A participant's connection to a talk's room, across sockets: each `connect()` starts from the
 * page's own server, follows `redirect` to the node hosting the talk (with the `session` it vouched
 * for) and joins as the same participant once there is a resume secret. Handlers see the messages
 * of the current socket only; `onClose` hears a joined socket that closed (not one the client left
 * for a redirect, nor one it closed itself).
 */
export class RoomConnection extends RoomEvents {
  /** The secret to come back as the same participant (from the latest `joined`). */
  resume: string | null;
  /** Redirects the latest connect followed. */
  redirects = 0;
  private current: RoomSocket | null = null;
  private readonly homeUrl: string;

  constructor(private readonly options: RoomConnectionOptions) {
    super();
    this.resume = options.resume ?? null;
    this.homeUrl = roomSocketUrl(options.pageUrl);
  }

  /** The current socket (null before the first connect). */
  get socket(): RoomSocket | null {
    return this.current;
  }

  /**
   * Opens a socket through the page's server and joins, following redirects: resolves with `joined`
   * (handlers saw it, and whatever came with it, as it came). Rejects with RoomRefusal (the room's
   * `error`: handlers saw it too), SocketClosed (a socket closed before an answer: the server is
   * down, stopping or restarting) or an Error (too many redirects, or a socket that could not be made).
   * `resume`: the secret to come back with (default: the latest `joined`'s).
   */
  async connect(resume: string | null = this.resume): Promise<RoomJoinedMessage> {
    this.abandon();
    const max = this.options.maxRedirects ?? 5;
    let url = this.homeUrl;
    let session: string | undefined;
    for (let hops = 0; ; hops++) {
      const socket = this.attach(this.options.open(url));
      const answer = await socket.join({ ...this.options.join, resume: resume ?? undefined, session });
      if (answer.type === 'joined') {
        this.resume = answer.resume;
        this.redirects = hops;
        return answer;
      }
      this.abandon();
      if (hops >= max) throw new Error(`redirected more than ${max} times: the node hosting this talk could not be reached`);
      url = answer.ws_url;
      session = answer.session;
    }
  }

  /** Sends on the current socket if it is open (false: it was not). */
  send(message: ClientMessage): boolean {
    return this.current?.send(message) ?? false;
  }

  /** The next message of one of `types` on the current socket (see RoomSocket.next). */
  next<T extends ServerMessage['type']>(types: T | readonly T[], timeoutMs?: number): Promise<ServerMessageOf<T>> {
    if (!this.current) return Promise.reject(new Error('not connected'));
    return this.current.next(types, timeoutMs);
  }

  /** Sends an offer and resolves with the SFU's answer (see RoomSocket.offer). */
  offer(sdp: string, timeoutMs?: number): Promise<string> {
    if (!this.current) return Promise.reject(new Error('not connected'));
    return this.current.offer(sdp, timeoutMs);
  }

  candidate(candidate: IceCandidateInit) {
    this.current?.candidate(candidate);
  }

  /** Closes the current socket (no `onClose` for it): after `leave`, or when giving up. */
  close(code?: number, reason?: string) {
    const socket = this.current;
    this.current = null;
    socket?.close(code, reason);
  }

  /** Stops listening to the current socket and closes it. */
  private abandon() {
    this.close();
  }

  private attach(raw: SocketLike): RoomSocket {
    const socket = new RoomSocket(raw);
    this.current = socket;
    let joined = false;
    socket.onMessage((m) => {
      if (this.current !== socket) return;
      if (m.type === 'joined') joined = true;
      this.emitMessage(m);
    });
    socket.onClose((code, reason) => {
      if (this.current !== socket || !joined) return;
      this.emitClose(code, reason);
    });
    return socket;
  }
}
