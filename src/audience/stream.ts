/**
 * One live talk's audience stream as LL-HLS: the init segment and the latest fMP4 parts and
 * segments, held in memory, and the media playlist written from them (Debian's ffmpeg 5.1 cannot
 * write partial segments, so the playlist is ours). A request for a part or a playlist update that
 * does not exist yet is held until it does (blocking playlist reload, preload hints).
 */
export interface StreamOptions {
  /** Parts in a segment (a segment is its parts, concatenated). */
  partsPerSegment: number;
  /** The longest a part may last, in seconds (PART-TARGET); the encoder cuts parts shorter than this. */
  partTarget: number;
  /** Whole segments kept (and listed) behind the live edge. */
  windowSegments: number;
}

interface Segment {
  msn: number;
  parts: Buffer[];
  durations: number[];
  complete: boolean;
  startedAt: Date;
  /** The concatenated parts, made once the segment is complete. */
  whole: Buffer | null;
}

interface Waiter {
  ready: () => boolean;
  done: (ok: boolean) => void;
}

export class LiveStream {
  /** Distinguishes this run of the stream in its URLs (a talk live again later starts at 0 again), so parts can be cached for good. */
  readonly epoch: string;
  init: Buffer | null = null;
  ended = false;
  private readonly segments: Segment[] = [];
  private readonly waiters = new Set<Waiter>();

  /**
   * `firstMsn`: the first segment's number. A talk's stream numbers its segments by the time since
   * the talk started (service.ts), so a stream started again (after an idle stop, a crash of its
   * encoder, or on another node after a failover) goes on past every number an earlier run used.
   */
  constructor(
    readonly options: StreamOptions,
    startedAt = new Date(),
    private readonly firstMsn = 0,
  ) {
    this.epoch = startedAt.getTime().toString(36);
  }

  setInit(init: Buffer): void {
    this.init = init;
    this.wake();
  }

  addPart(data: Buffer, duration: number, at = new Date()): void {
    if (this.ended) return;
    let current = this.segments.at(-1);
    if (!current || current.complete) {
      current = { msn: current ? current.msn + 1 : this.firstMsn, parts: [], durations: [], complete: false, startedAt: at, whole: null };
      this.segments.push(current);
    }
    current.parts.push(data);
    current.durations.push(duration);
    if (current.parts.length >= this.options.partsPerSegment) this.complete(current);
    while (this.segments.length > this.options.windowSegments + 1) this.segments.shift();
    this.wake();
  }

  /** No more media: the playlist ends, and every held request is answered. */
  end(): void {
    if (this.ended) return;
    const current = this.segments.at(-1);
    if (current && !current.complete) this.complete(current);
    this.ended = true;
    this.wake();
  }

  /**
   * This run stops while the talk's stream goes on (its encoder died, or nobody asked for it a
   * while): every held request is answered "not yet" (503 with Retry-After), not with an ended
   * playlist, so a player asks again and gets the next run's playlist. An ENDLIST here made hls.js
   * play out what it had and stop for good.
   */
  abandon(): void {
    for (const w of [...this.waiters]) w.done(false);
  }

  private complete(segment: Segment): void {
    segment.complete = true;
    segment.whole = Buffer.concat(segment.parts);
  }

  /** True once part `part` of segment `msn` (the whole segment when `part` is undefined) exists, or never will. */
  has(msn: number, part?: number): boolean {
    if (this.ended) return true;
    const last = this.segments.at(-1);
    if (!last) return false;
    if (msn < last.msn) return true;
    if (msn > last.msn) return false;
    return part === undefined ? last.complete : last.parts.length > part || last.complete;
  }

  /** Resolves true when `has(msn, part)`, false after `timeoutMs`. */
  wait(msn: number, part: number | undefined, timeoutMs: number): Promise<boolean> {
    if (this.has(msn, part)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ready: () => this.has(msn, part),
        done: (ok) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves once the init segment exists (false after `timeoutMs` or if the stream ended without one). */
  async waitForInit(timeoutMs: number): Promise<boolean> {
    if (this.init) return true;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ready: () => this.init !== null || this.ended,
        done: (ok) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(ok && this.init !== null);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) if (w.ready()) w.done(true);
  }

  /** The latest segment number and the number of parts it has so far (null before the first part). */
  get edge(): { msn: number; parts: number } | null {
    const last = this.segments.at(-1);
    if (!last) return null;
    return last.complete ? { msn: last.msn + 1, parts: 0 } : { msn: last.msn, parts: last.parts.length };
  }

  /** Whether a request for segment `msn` is too far ahead to ever be answered in time (more than two segments). */
  tooFarAhead(msn: number): boolean {
    const edge = this.edge;
    return msn > (edge?.msn ?? this.firstMsn) + 2;
  }

  segment(msn: number): Buffer | null {
    return this.segments.find((s) => s.msn === msn)?.whole ?? null;
  }

  part(msn: number, index: number): Buffer | null {
    return this.segments.find((s) => s.msn === msn)?.parts[index] ?? null;
  }

  /** Whether `index` of `msn` is the next part to be made (the one the preload hint names). */
  isNextPart(msn: number, index: number): boolean {
    const edge = this.edge;
    return !!edge && !this.ended && msn === edge.msn && index === edge.parts;
  }

  get targetDuration(): number {
    const longest = Math.max(this.options.partTarget * this.options.partsPerSegment, ...this.segments.filter((s) => s.complete).map(sum));
    return Math.max(1, Math.ceil(longest));
  }

  /**
   * The media playlist (RFC 8216bis LL-HLS), with URIs relative to it. `delta`: the playlist delta
   * update a client asks for with `_HLS_skip=YES` (hls.js does once it holds a recent playlist): the
   * whole segments more than CAN-SKIP-UNTIL (six target durations, the least the RFC allows) before
   * the end are replaced by one EXT-X-SKIP line, so the playlist a listener reloads for every part
   * stays the size of the last ~18 s however long the window kept behind is.
   */
  playlist(delta = false): string {
    const { partTarget } = this.options;
    const target = this.targetDuration;
    const canSkipUntil = 6 * target;
    const first = this.segments[0];
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      `#EXT-X-TARGETDURATION:${target}`,
      `#EXT-X-PART-INF:PART-TARGET=${partTarget.toFixed(3)}`,
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${canSkipUntil.toFixed(1)},PART-HOLD-BACK=${(3 * partTarget).toFixed(3)},HOLD-BACK=${(3 * target).toFixed(1)}`,
      `#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? this.firstMsn}`,
      '#EXT-X-INDEPENDENT-SEGMENTS',
      `#EXT-X-MAP:URI="${this.epoch}/init.mp4"`,
    ];
    const skipped = delta ? leadingBefore(this.segments, canSkipUntil) : 0;
    if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
    // Parts are listed for the segments within three target durations of the live edge.
    const partsFrom = this.segments.length - Math.max(1, Math.ceil((3 * target) / (partTarget * this.options.partsPerSegment)) + 1);
    this.segments.forEach((s, i) => {
      if (i < skipped) return;
      if (i === skipped) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${s.startedAt.toISOString()}`);
      if (i >= partsFrom) {
        s.durations.forEach((d, p) => {
          lines.push(`#EXT-X-PART:DURATION=${d.toFixed(5)},URI="${this.epoch}/${s.msn}.${p}.m4s",INDEPENDENT=YES`);
        });
      }
      if (s.complete) lines.push(`#EXTINF:${sum(s).toFixed(5)},`, `${this.epoch}/${s.msn}.m4s`);
    });
    const edge = this.edge;
    if (this.ended) lines.push('#EXT-X-ENDLIST');
    else if (edge) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${this.epoch}/${edge.msn}.${edge.parts}.m4s"`);
    return `${lines.join('\n')}\n`;
  }
}

/** How many leading whole segments end at least `seconds` before the end of the playlist: those a delta update skips. */
function leadingBefore(segments: Segment[], seconds: number): number {
  let after = segments.reduce((a, s) => a + sum(s), 0);
  let n = 0;
  for (const s of segments) {
    if (!s.complete) break;
    after -= sum(s);
    if (after < seconds) break;
    n++;
  }
  return n;
}

function sum(s: Segment): number {
  return s.durations.reduce((a, b) => a + b, 0);
}
