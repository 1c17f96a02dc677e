/** The raised hands, first raised first: everyone sees the line and their place in it; hosts bring people up from it. */
import type { Participant, RoomClient, RoomState } from './room';

/** 1st, 2nd, 3rd, 4th… 11th, 12th, 13th, 21st. */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

export function HandQueue({ client, state, me, isHost }: { client: RoomClient; state: RoomState; me: string; isHost: boolean }) {
  const hands = state.hands.map((id) => state.participants.find((p) => p.id === id)).filter(Boolean) as Participant[];
  if (hands.length === 0) return null;
  const mine = state.hands.indexOf(me);
  return (
    <section aria-label="Raised hands" class="card hands">
      <h2>Raised hands ({hands.length})</h2>
      {mine >= 0 && (
        <p data-testid="my-place">
          Your hand is up: you are {ordinal(mine + 1)} in line{mine === 0 ? ', next to be brought up' : ''}.
        </p>
      )}
      <ol class="queue">
        {hands.map((p, i) => (
          <li key={p.id} data-hand={p.id}>
            <span class="place" aria-hidden="true">
              {i + 1}
            </span>
            <span class="name">
              {p.name}
              {p.id === me && ' (you)'}
            </span>
            {isHost && (
              // The name is in the row already: the button shows its verb, and says whom to a screen reader.
              <button
                type="button"
                class={i === 0 ? 'primary' : undefined}
                aria-label={`Bring up ${p.name}`}
                onClick={() => client.send({ type: 'moderate', action: 'bring_up', target: p.id })}
              >
                Bring up
              </button>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
