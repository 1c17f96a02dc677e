import { ConfirmButton } from './confirm-dialog';
import { data } from './page-data';
import { micLabel } from './people';
import type { Participant, RoomClient } from './room';
import { ShareButton } from './share';
import { Shortcuts } from './shortcuts';

/** Your own controls: mic or hand, end the talk (hosts), leave, share, keyboard shortcuts. */
export function Controls({ client, self, isHost }: { client: RoomClient; self: Participant | undefined; isHost: boolean }) {
  return (
    <nav class="toolbar" aria-label="Your controls">
      {self?.can_speak ? (
        // The label says what the button does; the state is said once, next to it (no aria-pressed:
        // a toggle whose name also flips reads as "Unmute mic, pressed").
        <>
          <button
            type="button"
            class={self.muted ? 'mic-off' : 'mic-on primary'}
            aria-keyshortcuts="M"
            onClick={() => client.send({ type: 'mute', muted: !self.muted })}
          >
            {self.muted ? 'Unmute mic' : 'Mute mic'}
          </button>
          <span class="visually-hidden" data-testid="my-mic">
            {micLabel(self)}
          </span>
        </>
      ) : (
        <button type="button" aria-keyshortcuts="H" onClick={() => client.send({ type: 'hand', raised: !self?.hand_raised })}>
          {self?.hand_raised ? 'Lower hand' : 'Raise hand'}
        </button>
      )}
      {isHost && (
        <ConfirmButton
          class="danger"
          label="End talk"
          title="End this talk for everyone?"
          body="Everyone is disconnected and the talk cannot be restarted."
          confirm="End talk"
          onConfirm={() => client.send({ type: 'end' })}
        />
      )}
      <button type="button" onClick={() => client.leave()}>
        Leave
      </button>
      <ShareButton url={data.talk.url} title={data.talk.name} />
      <Shortcuts
        canSpeak={!!self?.can_speak}
        muted={!!self?.muted}
        handRaised={!!self?.hand_raised}
        onMute={() => client.send({ type: 'mute', muted: !self?.muted })}
        onHand={() => client.send({ type: 'hand', raised: !self?.hand_raised })}
      />
    </nav>
  );
}
