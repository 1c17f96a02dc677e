/** Share: the talk's short URL to copy, and a QR code of it drawn here as inline SVG (no network). */
import { useMemo, useRef, useState } from 'preact/hooks';
import { encode } from 'uqr';
import './live.css';

/** The QR code as one SVG path: dark modules black on a white quiet zone (scanners need the contrast whatever the theme). */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { path, size } = useMemo(() => {
    const qr = encode(text, { ecc: 'M', border: 2 });
    let d = '';
    qr.data.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) d += `M${x} ${y}h1v1h-1z`;
      });
    });
    return { path: d, size: qr.size };
  }, [text]);
  return (
    <svg class="qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label={label} data-testid="qr" shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#ffffff" />
      <path d={path} fill="#000000" />
    </svg>
  );
}

export function ShareButton({ url, title }: { url: string; title: string }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied('Link copied.');
    } catch {
      // No clipboard permission (an embed, an old browser): select it for a manual copy.
      input.current?.select();
      setCopied('Press Ctrl+C (⌘C on a Mac) to copy the selected link.');
    }
  };
  const canShare = typeof navigator.share === 'function';
  return (
    <>
      <button
        type="button"
        class="secondary share"
        onClick={() => {
          setCopied('');
          dialog.current?.showModal();
        }}
      >
        Share
      </button>
      <dialog ref={dialog} class="confirm share-dialog" aria-labelledby="share-title">
        <h2 id="share-title">Share this talk</h2>
        <label>
          Short link
          <input ref={input} readOnly value={url} onFocus={(e) => (e.target as HTMLInputElement).select()} data-testid="share-url" />
        </label>
        <div class="row">
          <button type="button" class="primary" onClick={() => void copy()}>
            Copy link
          </button>
          {canShare && (
            <button type="button" onClick={() => void navigator.share({ title, url }).catch(() => undefined)}>
              Share via…
            </button>
          )}
        </div>
        <p role="status" data-testid="share-status">
          {copied}
        </p>
        <QrCode text={url} label={`QR code for ${url}`} />
        <form method="dialog" class="row">
          <button type="submit">Close</button>
        </form>
      </dialog>
    </>
  );
}
