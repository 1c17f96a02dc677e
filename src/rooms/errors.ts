/** The room-level refusals the page shows (ended, invite required, not allowed...), as typed codes. */
import type { RoomErrorCode } from './protocol.js';

/** The message a removed person sees, when removed and at every later join attempt. */
export const REMOVED_MESSAGE = 'The host removed you from this talk';

/** A room-level refusal the page shows (ended, invite required, not allowed...). */
export class RoomError extends Error {
  constructor(
    readonly code: Exclude<RoomErrorCode, 'internal_error'>,
    message: string,
  ) {
    super(message);
  }
}
