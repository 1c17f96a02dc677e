/** Emoji reactions: a row of buttons, and the room's reactions floating up for a few seconds. Never stored. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { REACTIONS, type Reaction } from '../../../src/rooms/protocol.js';
import type { Participant, RoomClient } from './room';

/** What each reaction is called (button names, and what the floating ones say to a screen reader). */
export const REACTION_NAMES: Record<Reaction, string> = {
  '👏': 'Applause',
  '❤️': 'Love',
  '😂': 'Laughing',
  '😮': 'Wow',
  '🎉': 'Celebrate',
  '👍': 'Thumbs up',
};

/** Line drawings in the theme's text color: the page needs no emoji font (none on many servers and kiosks). */
export function ReactionIcon({ emoji, size = 24 }: { emoji: Reaction; size?: number }) {
  const props = {
    width: size,
    height: size,
    viewBox: '0 0 24 24',
    'aria-hidden': true,
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': 2,
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
  } as const;
  const face = <circle cx="12" cy="12" r="9" />;
  switch (emoji) {
    case '👏':
      return (
        <svg {...props} role="presentation">
          <rect x="5.5" y="7" width="6" height="13" rx="3" transform="rotate(-18 8.5 13.5)" />
          <rect x="12.5" y="7" width="6" height="13" rx="3" transform="rotate(18 15.5 13.5)" />
          <path d="M12 2v2.5M5 3.5l1.5 2M19 3.5l-1.5 2" />
        </svg>
      );
    case '❤️':
      return (
        <svg {...props} role="presentation">
          <path d="M12 20s-7.5-4.6-7.5-10.2A4.2 4.2 0 0 1 12 7.3a4.2 4.2 0 0 1 7.5 2.5C19.5 15.4 12 20 12 20z" />
        </svg>
      );
    case '😂':
      return (
        <svg {...props} role="presentation">
          {face}
          <path d="M7.5 9.5q1.2-1.4 2.4 0M14.1 9.5q1.2-1.4 2.4 0M7.5 13.5h9a4.5 4.5 0 0 1-9 0z" />
        </svg>
      );
    case '😮':
      return (
        <svg {...props} role="presentation">
          {face}
          <circle cx="9" cy="9.5" r="0.8" />
          <circle cx="15" cy="9.5" r="0.8" />
          <circle cx="12" cy="15.5" r="2.2" />
        </svg>
      );
    case '🎉':
      return (
        <svg {...props} role="presentation">
          <path d="M4 20l4.5-12.5 8 8z" />
          <path d="M13 3.5l.8 2M18.5 9.5l2-.8M16.5 3v2.5M20.5 13.5h-2M14 8l3-3" />
        </svg>
      );
    case '👍':
      return (
        <svg {...props} role="presentation">
          <path d="M4 10h3v10H4zM7 10l3.8-6.4a1.8 1.8 0 0 1 3.3 1.3L13.2 9h5.1a2 2 0 0 1 2 2.4l-1.4 6.9a2.2 2.2 0 0 1-2.2 1.7H7" />
        </svg>
      );
  }
}

interface Floating {
  key: number;
  emoji: Reaction;
  name: string;
  /** Horizontal place, 0..1, so that a burst spreads out. */
  x: number;
}

/** How long a reaction floats, ms. */
const FLOAT_MS = 4000;
/** At most this many float at once (a crowd's burst shows the newest). */
const MAX_FLOATING = 30;

/**
 * The reaction buttons and what others sent. The server takes a few at once and then one every half
 * second per person: past that a click does nothing, which the page mirrors by not sending either.
 */
export function Reactions({ client, participants }: { client: RoomClient; participants: Participant[] }) {
  const [floating, setFloating] = useState<Floating[]>([]);
  const names = useRef(new Map<string, string>());
  names.current = new Map(participants.map((p) => [p.id, p.name]));
  const next = useRef(0);
  useEffect(
    () =>
      client.onReactions((batch) => {
        const added = batch.map((r) => ({
          key: next.current++,
          emoji: r.emoji,
          name: names.current.get(r.participant_id) ?? 'Someone',
          x: Math.random(),
        }));
        setFloating((all) => [...all, ...added].slice(-MAX_FLOATING));
        const keys = new Set(added.map((a) => a.key));
        setTimeout(() => setFloating((all) => all.filter((f) => !keys.has(f.key))), FLOAT_MS);
      }),
    [client],
  );
  return (
    <section class="card reactions" aria-label="Reactions">
      <div class="reaction-buttons">
        {REACTIONS.map((emoji) => (
          <button
            key={emoji}
            type="button"
            class="reaction"
            title={REACTION_NAMES[emoji]}
            aria-label={`React: ${REACTION_NAMES[emoji]}`}
            onClick={() => client.send({ type: 'react', emoji })}
          >
            <ReactionIcon emoji={emoji} />
          </button>
        ))}
      </div>
      {/* Decorative for sighted people; a screen reader would hear a stream of them, so it gets none (aria-hidden). */}
      <div class="reaction-stream" aria-hidden="true" data-testid="reaction-stream">
        {floating.map((f) => (
          <span key={f.key} class="floating-reaction" style={{ left: `${5 + f.x * 80}%` }} data-emoji={f.emoji}>
            <ReactionIcon emoji={f.emoji} size={28} />
            <span class="who">{f.name}</span>
          </span>
        ))}
      </div>
    </section>
  );
}
