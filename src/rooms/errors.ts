/** The room-level refusals the page shows (ended, invite required, not allowed...), as typed codes. */

/** The message a removed person sees, when removed and at every later join attempt. */
export const REMOVED_MESSAGE = 'The host removed you from this talk';

/** A room-level refusal the page shows (ended, invite required, not allowed...). */
export class RoomError extends Error {
  constructor(
    readonly code: 'ended' | 'removed' | 'invite_required' | 'invalid_token' | 'invalid_invite' | 'bad_request' | 'not_allowed' | 'not_found' | 'rate_limited',
    message: string,
  ) {
    super(message);
  }
}
