/**
 * Reads the fragmented MP4 that ffmpeg writes to a pipe (`-movflags empty_moov+default_base_moof`)
 * as it arrives: the init segment (`ftyp` + `moov`), then one fragment per `moof` + `mdat` pair,
 * each with its duration in seconds. Only what the live stream needs is parsed.
 */
export interface Fragment {
  data: Buffer;
  /** Seconds of media in the fragment. */
  duration: number;
}

export class FragmentReader {
  private pending: Buffer = Buffer.alloc(0);
  private init: Buffer[] = [];
  private moof: Buffer | null = null;
  private timescale = 0;
  private trexDuration = 0;

  /**
   * `startAt`: seconds added to every fragment's decode time (tfdt), so the media timeline can go
   * on from where an earlier run of the same stream was (ffmpeg's mp4 muxer always starts at 0).
   */
  constructor(
    private readonly onInit: (init: Buffer) => void,
    private readonly onFragment: (fragment: Fragment) => void,
    private readonly startAt = 0,
  ) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const box = nextBox(this.pending);
      if (!box) return;
      this.pending = this.pending.subarray(box.size);
      this.box(box.type, box.data);
    }
  }

  private box(type: string, data: Buffer): void {
    if (type === 'ftyp') this.init = [data];
    else if (type === 'moov') {
      this.init.push(data);
      const mdhd = findPath(data, ['moov', 'trak', 'mdia', 'mdhd']);
      if (mdhd) this.timescale = mdhd.readUInt8(8) === 1 ? mdhd.readUInt32BE(8 + 4 + 16) : mdhd.readUInt32BE(8 + 4 + 8);
      const trex = findPath(data, ['moov', 'mvex', 'trex']);
      if (trex) this.trexDuration = trex.readUInt32BE(8 + 4 + 8);
      this.onInit(Buffer.concat(this.init));
    } else if (type === 'moof') this.moof = this.startAt && this.timescale ? shiftDecodeTime(data, BigInt(Math.round(this.startAt * this.timescale))) : data;
    else if (type === 'mdat' && this.moof) {
      const duration = this.timescale ? fragmentTicks(this.moof, this.trexDuration) / this.timescale : 0;
      this.onFragment({ data: Buffer.concat([this.moof, data]), duration });
      this.moof = null;
    }
  }
}

/** The first whole box at the start of `buf` (header included in `data`), or null if not all there yet. */
function nextBox(buf: Buffer): { type: string; size: number; data: Buffer } | null {
  if (buf.length < 8) return null;
  let size = buf.readUInt32BE(0);
  if (size === 1) {
    if (buf.length < 16) return null;
    size = Number(buf.readBigUInt64BE(8));
  }
  if (size < 8) throw new Error(`malformed MP4 box (size ${size})`);
  if (buf.length < size) return null;
  return { type: buf.toString('latin1', 4, 8), size, data: buf.subarray(0, size) };
}

/** The children of a container box (its header skipped). */
function* children(box: Buffer): Generator<{ type: string; data: Buffer }> {
  let at = 8;
  while (at + 8 <= box.length) {
    const size = box.readUInt32BE(at);
    if (size < 8 || at + size > box.length) return;
    yield { type: box.toString('latin1', at + 4, at + 8), data: box.subarray(at, at + size) };
    at += size;
  }
}

function findPath(box: Buffer, path: string[]): Buffer | null {
  let current = box;
  for (const type of path.slice(1)) {
    let found: Buffer | null = null;
    for (const child of children(current)) {
      if (child.type === type) {
        found = child.data;
        break;
      }
    }
    if (!found) return null;
    current = found;
  }
  return current;
}

/** A copy of a `moof` whose first track's decode time (tfdt) is `ticks` later. */
function shiftDecodeTime(moof: Buffer, ticks: bigint): Buffer {
  const copy = Buffer.from(moof);
  const traf = findPath(copy, ['moof', 'traf']);
  if (!traf) return copy;
  for (const child of children(traf)) {
    if (child.type !== 'tfdt') continue;
    if (child.data.readUInt8(8) === 1) child.data.writeBigUInt64BE(child.data.readBigUInt64BE(12) + ticks, 12);
    else child.data.writeUInt32BE(Number((BigInt(child.data.readUInt32BE(12)) + ticks) & 0xffffffffn), 12);
  }
  return copy;
}

/** The media duration of a `moof`'s first track, in its timescale (trun sample durations, or the defaults). */
function fragmentTicks(moof: Buffer, trexDuration: number): number {
  const traf = findPath(moof, ['moof', 'traf']);
  if (!traf) return 0;
  let defaultDuration = trexDuration;
  let ticks = 0;
  for (const child of children(traf)) {
    const flags = child.data.readUInt32BE(8) & 0xffffff;
    if (child.type === 'tfhd') {
      let at = 8 + 4 + 4;
      if (flags & 0x01) at += 8;
      if (flags & 0x02) at += 4;
      if (flags & 0x08) defaultDuration = child.data.readUInt32BE(at);
    } else if (child.type === 'trun') {
      const count = child.data.readUInt32BE(12);
      let at = 16;
      if (flags & 0x01) at += 4;
      if (flags & 0x04) at += 4;
      if (!(flags & 0x100)) {
        ticks += count * defaultDuration;
        continue;
      }
      const perSample = 4 * [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length;
      for (let i = 0; i < count; i++) ticks += child.data.readUInt32BE(at + i * perSample);
    }
  }
  return ticks;
}
