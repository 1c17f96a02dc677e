import { useAnnouncements } from './announcements';
import type { CaptionLine } from './captions';
import { CaptionsPanel } from './captions-panel';
import { Controls } from './controls';
import { HandQueue } from './hands';
import { Countdown, Header } from './header';
import { data } from './page-data';
import { Participants } from './people';
import { QuestionPanel } from './questions';
import { Reactions } from './reactions';
import type { RemovedPerson, RoomClient, RoomState } from './room';
import { LiveStatus } from './status';

/** How this page hears the room (room.ts): WebRTC, or the stream (the audience tier), and why. */
export interface Listening {
  tier: 'webrtc' | 'audience';
  fallback: boolean;
}

/** The page once in the room: its status, the stage and audience, hands, questions, captions, reactions and your controls. */
export function InRoom({
  client,
  state,
  levels,
  me,
  captions,
  bans,
  listening,
}: {
  client: RoomClient;
  state: RoomState;
  levels: Record<string, number>;
  me: string;
  captions: CaptionLine[];
  bans: RemovedPerson[];
  listening: Listening;
}) {
  const self = state.participants.find((p) => p.id === me);
  const isHost = self?.role === 'host';
  const announcement = useAnnouncements(state, levels, me);
  return (
    <main class="page room">
      <Header />
      <p class="visually-hidden" aria-live="polite" data-testid="announcer">
        {announcement}
      </p>
      <LiveStatus state={state} levels={levels} me={me} recording={data.talk.recording} client={client} />
      {listening.tier === 'audience' && (
        <p class="stream-note" data-testid="stream-note">
          {listening.fallback
            ? 'Your connection could not carry live audio directly, so you listen through the stream, a second or two behind the stage.'
            : 'You listen through the live stream, a second or two behind the stage.'}
        </p>
      )}
      {!state.talk.live && (
        <p class="lobby" role="status">
          Lobby: {state.talk.start_time ? <Countdown to={state.talk.start_time} /> : 'waiting for a host'}
          {isHost && (
            <button type="button" onClick={() => client.send({ type: 'start' })}>
              Start now
            </button>
          )}
        </p>
      )}
      <Participants client={client} state={state} levels={levels} me={me} isHost={isHost} />
      <HandQueue client={client} state={state} me={me} isHost={isHost} />
      <QuestionPanel client={client} state={state} me={me} isHost={isHost} />
      {isHost && bans.length > 0 && (
        <section aria-label="Removed from this talk" class="card">
          <h2>Removed from this talk</h2>
          <ul class="removed-list">
            {bans.map((b) => (
              <li key={b.id}>
                {b.name}
                <button type="button" onClick={() => client.send({ type: 'lift_ban', ban: b.id })}>
                  Let {b.name} back in
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <CaptionsPanel captions={captions} />
      <Reactions client={client} participants={state.participants} />
      <Controls client={client} self={self} isHost={isHost} />
    </main>
  );
}
