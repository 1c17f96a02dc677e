import type { DeliveryRow } from './delivery-log.js';

/**
 * A receiver gets a talk's next_caption webhooks in seq order: the worker sorts what it fetches by
 * seq and runs one attempt at a time per lane (endpoint and talk), the others waiting in seq order.
 */
type Caption = { talkId: string; seq: number };

const captions = new WeakMap<DeliveryRow, Caption | null>();

/** A next_caption delivery's talk and seq (parsed once per row); null for other events. */
export function captionOf(row: DeliveryRow): Caption | null {
  if (row.event_name !== 'next_caption') return null;
  let caption = captions.get(row);
  if (caption === undefined) {
    try {
      const body = (JSON.parse(row.payload) as { body?: { talkId?: unknown; seq?: unknown } }).body;
      caption = { talkId: String(body?.talkId ?? ''), seq: Number(body?.seq ?? 0) };
    } catch {
      caption = null;
    }
    captions.set(row, caption);
  }
  return caption;
}

/** The next_caption lane of a delivery (endpoint and talk), or null for other events. */
export function laneOf(row: DeliveryRow): string | null {
  const caption = captionOf(row);
  return caption ? `${row.endpoint_id} ${caption.talkId}` : null;
}

/** Sorts deliveries for launch: other events first, then captions in seq order (a fetch returns jobs in no particular order). */
export function inSeqOrder<T>(items: T[], rowOf: (item: T) => DeliveryRow | undefined): T[] {
  const seqOf = (item: T) => {
    const row = rowOf(item);
    return row ? (captionOf(row)?.seq ?? -1) : -1;
  };
  return [...items].sort((a, b) => seqOf(a) - seqOf(b));
}

/** Puts a caption waiting in its lane before the first later one: one fetched later (a retry, another batch) may be earlier. */
export function insertBySeq<T extends { row: DeliveryRow }>(waiting: T[], item: T): void {
  const seq = captionOf(item.row)?.seq ?? 0;
  const at = waiting.findIndex((w) => (captionOf(w.row)?.seq ?? 0) > seq);
  waiting.splice(at < 0 ? waiting.length : at, 0, item);
}
