import type { Tx } from '../platform/db/index.js';

/** The partner events of the API doc (plus `ping`, sent by the endpoint test button). */
export type EventName = 'talk_join' | 'recording_saved' | 'transcription_ready' | 'next_caption' | 'ping';

/**
 * Where features emit partner events. `emit` writes the event inside `tx` (an outbox), so the
 * event exists if and only if the change that caused it commits; delivery happens after commit
 * to every enabled endpoint of the partner subscribed to it.
 */
export interface EventSink {
  emit(tx: Tx, partnerId: string, eventName: EventName, body: Record<string, unknown>): Promise<{ id: string }>;
}
