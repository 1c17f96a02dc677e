import { useState } from 'preact/hooks';
import type { CaptionLine } from './captions';

/** The last live captions, which a participant can hide. */
export function CaptionsPanel({ captions }: { captions: CaptionLine[] }) {
  const [showCaptions, setShowCaptions] = useState(true);
  return (
    <section class="card captions" aria-label="Captions">
      <button type="button" aria-pressed={showCaptions} onClick={() => setShowCaptions(!showCaptions)}>
        {showCaptions ? 'Hide captions' : 'Show captions'}
      </button>
      {showCaptions && (
        <div aria-live="polite" class="caption-lines">
          {/* Interim text (a phrase still being spoken) is shown dimmed and left out of what screen readers announce. */}
          {captions.slice(-4).map((c, i) => (
            <p key={i} class={c.interim ? 'interim' : undefined} aria-hidden={c.interim ? 'true' : undefined}>
              <strong>{c.name}:</strong> {c.text}
            </p>
          ))}
        </div>
      )}
    </section>
  );
}
