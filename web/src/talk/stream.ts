/**
 * The audience tier's player: the talk's LL-HLS stream of its stage in an <audio> element, with
 * hls.js (its light build: LL-HLS without alternate renditions, subtitles or DRM) loaded only when a
 * page needs it, so WebRTC listeners do not download it. Safari plays HLS natively.
 */
import type Hls from 'hls.js';

/** After a fatal error (the stream restarted on another node, the hosting node went away) the player starts again this much later. */
const RESTART_MS = 1_000;

export class StreamPlayer {
  readonly audio = new Audio();
  private hls: Hls | null = null;
  private url: string | null = null;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  /** Fatal errors hls.js reported since the page loaded (tests read it). */
  fatalErrors = 0;
  /** The last few errors hls.js reported, fatal or not (`details`, for diagnostics). */
  readonly errors: string[] = [];

  constructor() {
    this.audio.autoplay = true;
    this.audio.dataset.testid = 'stream-audio';
    // In the document, so tests and assistive tools can find it; there are no controls to show.
    this.audio.hidden = true;
    document.body.append(this.audio);
    // A stream that ended (ENDLIST) while this page still plays it, as a node of an older version
    // ends it when the talk moves to another node, starts again from the live edge. The talk's own
    // end stops the player first (the room says so), so this does not loop after it.
    this.audio.addEventListener('ended', () => {
      if (this.url) this.restartSoon();
    });
  }

  /** Plays `url` (a path on this server); the same URL again changes nothing. */
  async play(url: string): Promise<void> {
    if (this.url === url && (this.hls || this.audio.src)) return;
    this.stop();
    this.url = url;
    const absolute = new URL(url, location.href).href;
    const { default: HlsJs } = await import('hls.js/light');
    if (this.url !== url) return; // stopped or changed while loading
    if (HlsJs.isSupported()) {
      // maxLiveSyncPlaybackRate: a player that fell behind the live edge (a stall, the stream
      // restarted) plays up to 1.5x, pitch kept, until it is back at the target latency; at 1 (hls.js's
      // default) it stayed seconds behind for good (bench/audience/player.ts: 4.8 s after a restart).
      const hls = new HlsJs({ lowLatencyMode: true, backBufferLength: 10, maxLiveSyncPlaybackRate: 1.5 });
      this.hls = hls;
      hls.on(HlsJs.Events.ERROR, (_event, data) => {
        this.errors.push(`${data.details}${data.fatal ? ' (fatal)' : ''}`);
        if (this.errors.length > 10) this.errors.shift();
        if (!data.fatal || this.hls !== hls) return;
        this.fatalErrors++;
        if (data.type === HlsJs.ErrorTypes.MEDIA_ERROR) return hls.recoverMediaError();
        this.restartSoon();
      });
      hls.attachMedia(this.audio);
      hls.loadSource(absolute);
    } else if (this.audio.canPlayType('application/vnd.apple.mpegurl')) {
      this.audio.src = absolute;
    } else return;
    void this.audio.play().catch(() => undefined);
  }

  /** Starts the same stream again from its live edge. */
  private restartSoon() {
    if (this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      const url = this.url;
      if (!url) return;
      this.stop();
      void this.play(url);
    }, RESTART_MS);
  }

  /** The decoded audio as a MediaStream, to measure its level (null where the browser cannot capture an element). */
  capture(): MediaStream | null {
    const el = this.audio as HTMLAudioElement & { captureStream?: () => MediaStream };
    return el.captureStream ? el.captureStream() : null;
  }

  get playing(): boolean {
    return this.url !== null;
  }

  stop(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.url = null;
    this.hls?.destroy();
    this.hls = null;
    this.audio.pause();
    this.audio.removeAttribute('src');
    this.audio.load();
  }
}
