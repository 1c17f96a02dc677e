/**
 * Keyboard shortcuts in the room: M mutes or unmutes, H raises or lowers the hand, ? lists them.
 * Not while typing (inputs, text areas, selects, editable text), not with Ctrl/Alt/Meta (the
 * browser's own), not while another dialog is open. What a shortcut did is said in a live region;
 * the buttons carry aria-keyshortcuts so screen readers name the key with the button.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import './live.css';

export const SHORTCUTS: [key: string, what: string][] = [
  ['M', 'Mute or unmute your microphone'],
  ['H', 'Raise or lower your hand'],
  ['?', 'Show these shortcuts'],
];

/** Typing here: a letter is text, not a shortcut. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || typeof el.closest !== 'function') return false;
  return !!el.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
}

export function Shortcuts({
  canSpeak,
  muted,
  handRaised,
  onMute,
  onHand,
}: {
  canSpeak: boolean;
  muted: boolean;
  handRaised: boolean;
  onMute(): void;
  onHand(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [said, setSaid] = useState('');
  // The handler reads the latest state through a ref: it is added once.
  const now = useRef({ canSpeak, muted, handRaised, onMute, onHand });
  now.current = { canSpeak, muted, handRaised, onMute, onHand };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.repeat || isTyping(e.target)) return;
      if (document.querySelector('dialog[open]')) return;
      const s = now.current;
      const key = e.key.toLowerCase();
      // Each answer ends with a changing mark so that saying the same thing twice is heard twice.
      const say = (text: string) => setSaid((old) => (old.endsWith('\u00a0') ? text : `${text}\u00a0`));
      if (key === 'm') {
        e.preventDefault();
        if (!s.canSpeak) return say('You cannot speak yet: press H to raise your hand.');
        s.onMute();
        say(s.muted ? 'Unmuting your microphone' : 'Muting your microphone');
      } else if (key === 'h') {
        e.preventDefault();
        if (s.canSpeak) return say('You can already speak: no need to raise your hand.');
        s.onHand();
        say(s.handRaised ? 'Lowering your hand' : 'Raising your hand');
      } else if (e.key === '?') {
        e.preventDefault();
        dialog.current?.showModal();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <>
      <p class="visually-hidden" aria-live="assertive" data-testid="shortcut-announcer">
        {said}
      </p>
      <button type="button" class="secondary" aria-keyshortcuts="?" onClick={() => dialog.current?.showModal()}>
        Shortcuts
      </button>
      <dialog ref={dialog} class="confirm" aria-labelledby="shortcuts-title">
        <h2 id="shortcuts-title">Keyboard shortcuts</h2>
        <dl class="shortcut-list">
          {SHORTCUTS.map(([key, what]) => (
            <div key={key}>
              <dt>
                <kbd>{key}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <p>They do nothing while you type in a field.</p>
        <form method="dialog" class="row">
          <button type="submit" autofocus>
            Close
          </button>
        </form>
      </dialog>
    </>
  );
}
