import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { type FormError, toFormError } from './form';

interface InputProps {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
  error?: FormError | null;
  hint?: ComponentChildren;
  type?: string;
  required?: boolean;
  autocomplete?: string;
  placeholder?: string;
  maxLength?: number;
  pattern?: string;
}

/** A labelled input with its hint and its error, tied together for screen readers. */
export function Field({ label, name, value, onValue, error, hint, type, required, autocomplete, placeholder, maxLength, pattern }: InputProps) {
  const id = useId();
  const mine = error && error.field === name ? error.message : null;
  return (
    <div class={`field${mine ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        value={value}
        onInput={(e) => onValue((e.target as HTMLInputElement).value)}
        aria-invalid={mine ? 'true' : undefined}
        aria-describedby={`${id}-hint ${id}-error`}
        type={(type ?? 'text') as 'text'}
        required={required}
        autocomplete={autocomplete}
        placeholder={placeholder}
        maxLength={maxLength}
        pattern={pattern}
      />
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <p class="field-error" id={`${id}-error`} role={mine ? 'alert' : undefined} data-field-error={name}>
        {mine}
      </p>
    </div>
  );
}

export function SelectField(props: {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
  options: [string, string][];
  error?: FormError | null;
  hint?: ComponentChildren;
}) {
  const id = useId();
  const mine = props.error && props.error.field === props.name ? props.error.message : null;
  return (
    <div class={`field${mine ? ' has-error' : ''}`}>
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        onChange={(e) => props.onValue((e.target as HTMLSelectElement).value)}
        aria-invalid={mine ? 'true' : undefined}
        aria-describedby={`${id}-hint ${id}-error`}
      >
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      <p class="field-error" id={`${id}-error`} role={mine ? 'alert' : undefined} data-field-error={props.name}>
        {mine}
      </p>
    </div>
  );
}

/** The error of a form that concerns no single field (or a field the form does not show). */
export function FormAlert({ error, fields }: { error: FormError | null; fields: string[] }) {
  if (!error || (error.field && fields.includes(error.field))) return null;
  return (
    <p class="form-error" role="alert">
      {error.message}
    </p>
  );
}

export function CopyButton({ text, label = 'Copy', what }: { text: string; label?: string; what: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="secondary"
      aria-label={`${label} ${what}`}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // No clipboard API (plain http on another host): copy through a selected textarea.
          const area = document.createElement('textarea');
          area.value = text;
          document.body.append(area);
          area.select();
          document.execCommand('copy');
          area.remove();
        }
        setDone(true);
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/** A destructive button that asks once more, inline, before it acts. */
export function ConfirmButton(props: { label: string; confirm: string; what: string; onConfirm: () => Promise<void> | void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking)
    return (
      <button type="button" class="danger" aria-label={`${props.label} ${props.what}`} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  return (
    <span class="confirm">
      <span>{props.confirm}</span>
      <button
        ref={yes}
        type="button"
        class="danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await props.onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function Empty({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <div class="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

/** Loads data once (and again on `reload()`), with its error. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: FormError | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<FormError | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    load().then(
      (d) => live && setData(d),
      (e) => live && setError(toFormError(e)),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

export function Loading({ error }: { error?: FormError | null }) {
  if (error)
    return (
      <p class="form-error" role="alert">
        {error.message}
      </p>
    );
  return (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  );
}

export function formatTime(value: string | null): string {
  if (!value) return 'not set';
  return new Date(value).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** `<input type="datetime-local">` value in the user's time zone, and back to ISO. */
export function toLocalInput(value: string | null): string {
  if (!value) return '';
  const d = new Date(value);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
