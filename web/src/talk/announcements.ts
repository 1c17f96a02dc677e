import { useEffect, useRef, useState } from 'preact/hooks';
import type { Participant, RoomState } from './room';

/** How long a change in the room (a mic, a hand, the stage) is left to be read before "… speaking" may replace it. */
const READ_MS = 2_000;

export /** What a screen reader hears when the room changes: mic, hand and stage changes, who starts speaking. */
function useAnnouncements(state: RoomState, levels: Record<string, number>, me: string): string {
  const [text, setText] = useState('');
  const before = useRef<Map<string, Participant> | null>(null);
  const speaking = useRef<Set<string>>(new Set());
  const changeSaidAt = useRef(0);
  useEffect(() => {
    const prev = before.current;
    const said: string[] = [];
    // The audience tier's pages are shown the stage only: people come onto it and leave it without joining or leaving.
    const stageOnly = state.counts.participants > state.participants.length;
    if (prev) {
      for (const p of state.participants) {
        const was = prev.get(p.id);
        const who = p.id === me ? 'You' : p.name;
        if (!was && stageOnly) {
          if (p.hand_raised) said.push(`${who} raised a hand`);
          else if (p.can_speak) said.push(`${who} can speak now`);
          continue;
        }
        if (!was) {
          said.push(`${p.name} joined`);
          continue;
        }
        const whose = p.id === me ? 'Your' : `${p.name}'s`;
        if (was.can_speak !== p.can_speak) said.push(p.can_speak ? `${who} can speak now` : `${who} went back to listening`);
        else if (p.can_speak && was.muted !== p.muted) said.push(`${whose} microphone is ${p.muted ? 'off' : 'on'}`);
        if (was.hand_raised !== p.hand_raised) said.push(`${who} ${p.hand_raised ? 'raised a hand' : 'lowered a hand'}`);
      }
      if (!stageOnly) for (const id of prev.keys()) if (!state.participants.some((p) => p.id === id)) said.push(`${prev.get(id)?.name} left`);
    }
    before.current = new Map(state.participants.map((p) => [p.id, p]));
    if (said.length) {
      setText(said.join('. '));
      changeSaidAt.current = Date.now();
    }
  }, [state, me]);
  useEffect(() => {
    const now = new Set(Object.keys(levels).filter((id) => (levels[id] ?? 0) > 0.08));
    const started = [...now].filter((id) => !speaking.current.has(id) && id !== me);
    speaking.current = now;
    const names = started.map((id) => state.participants.find((p) => p.id === id)?.name).filter(Boolean);
    // Someone starting to speak (a beep, a breath) must not take the place of "Your microphone is
    // off" before a screen reader has read it: within READ_MS of a change, it is not announced.
    if (names.length && Date.now() - changeSaidAt.current >= READ_MS) setText(`${names.join(', ')} speaking`);
  }, [levels, state, me]);
  return text;
}
