import { ConfirmButton } from './confirm-dialog';
import type { Participant, RoomClient, RoomState } from './room';

export function Avatar({ p }: { p: { name: string; photo_url: string | null } }) {
  return p.photo_url ? (
    <img class="avatar" src={p.photo_url} alt="" />
  ) : (
    <span class="avatar initials" aria-hidden="true">
      {p.name.slice(0, 1).toUpperCase()}
    </span>
  );
}

/** The badge: a listener brought on stage speaks, and is shown as a speaker. */
export function roleLabel(p: Participant): string {
  return p.role === 'listener' && p.can_speak ? 'speaker' : p.role;
}

/** What a screen reader hears for someone's mic. */
export function micLabel(p: Participant): string {
  return p.can_speak ? (p.muted ? 'Microphone off' : 'Microphone on') : 'Listening (no microphone)';
}

/** Mic state as inline SVG (no emoji font needed); the label is on the wrapping element. */
export function MicIcon({ state }: { state: 'on' | 'muted' | 'listening' }) {
  const props = { width: 18, height: 18, viewBox: '0 0 24 24', 'aria-hidden': true, fill: 'none', stroke: 'currentColor', 'stroke-width': 2 } as const;
  if (state === 'listening')
    return (
      <svg {...props} data-icon="listening" role="presentation">
        <path d="M3 14v-2a9 9 0 0 1 18 0v2" />
        <rect x="3" y="14" width="4" height="6" rx="1" />
        <rect x="17" y="14" width="4" height="6" rx="1" />
      </svg>
    );
  return (
    <svg {...props} data-icon={state === 'on' ? 'mic-on' : 'mic-muted'} role="presentation">
      <rect x="9" y="3" width="6" height="11" rx="3" />
      <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
      {state === 'muted' && <path d="M4 4l16 16" />}
    </svg>
  );
}

/** The stage and the audience: everyone in the room (the audience tier sees the stage and a count), with a host's moderation buttons. */
export function Participants({
  client,
  state,
  levels,
  me,
  isHost,
}: {
  client: RoomClient;
  state: RoomState;
  levels: Record<string, number>;
  me: string;
  isHost: boolean;
}) {
  return (
    <section aria-label="Participants" class="card">
      <h2>Participants ({state.counts.participants})</h2>
      <ul class="people">
        {state.participants.map((p) => (
          <li key={p.id} class={(levels[p.id] ?? 0) > 0.08 ? 'speaking' : ''} data-participant={p.id}>
            <Avatar p={p} />
            <span class="name">
              {p.name}
              {p.id === me && ' (you)'}
            </span>
            <span class="role" data-testid="role">
              {roleLabel(p)}
            </span>
            <span class="mic" role="img" aria-label={micLabel(p)}>
              <MicIcon state={p.can_speak ? (p.muted ? 'muted' : 'on') : 'listening'} />
            </span>
            {(levels[p.id] ?? 0) > 0.08 && <span class="visually-hidden">speaking</span>}
            {isHost && p.id !== me && (
              <span class="controls">
                {p.can_speak && !p.muted && (
                  <button type="button" onClick={() => client.send({ type: 'moderate', action: 'mute', target: p.id })}>
                    Mute
                  </button>
                )}
                {state.talk.room_type !== 'default' && p.role !== 'host' && (
                  <button type="button" onClick={() => client.send({ type: 'moderate', action: p.can_speak ? 'bring_down' : 'bring_up', target: p.id })}>
                    {p.can_speak ? 'Bring down' : 'Bring up'}
                  </button>
                )}
                {p.role !== 'host' && (
                  <ConfirmButton
                    class="danger"
                    label={`Remove ${p.name}`}
                    title={`Remove ${p.name} from this talk?`}
                    body={`${p.name} leaves at once and cannot join this talk again (from this browser or network) unless you let them back in.`}
                    confirm="Remove"
                    onConfirm={() => client.send({ type: 'moderate', action: 'remove', target: p.id })}
                  />
                )}
              </span>
            )}
          </li>
        ))}
      </ul>
      {/* The audience tier is shown the stage only: the rest are counted. */}
      {state.counts.participants > state.participants.length && (
        <p class="more-listening" data-testid="more-listening">
          and {state.counts.participants - state.participants.length} more listening
        </p>
      )}
    </section>
  );
}
