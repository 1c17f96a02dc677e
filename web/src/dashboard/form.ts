import { useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

/** An error from a form submission: shown beside its field when the server named one. */
export interface FormError {
  message: string;
  field?: string;
}

/** The API envelope's `{ error: { code, message, field } }` (thrown by `call` as an ApiError), or any other failure, as a form shows it. */
export function toFormError(err: unknown): FormError {
  if (err instanceof ApiError) return { message: err.message, field: err.field };
  return { message: err instanceof Error ? err.message : String(err) };
}

export interface Form {
  /** The last action's error (cleared when the next one starts). */
  error: FormError | null;
  /** An action of this form is running. */
  pending: boolean;
  /** The error of the last action run with this key (a row of a list), else null. */
  errorOf: (key: string) => FormError | null;
  /**
   * Runs `action` and keeps its error. A second call while one with the same key is still running
   * is ignored, so a double click or a second Enter sends one request.
   */
  run: (action: () => Promise<unknown>, key?: string) => Promise<void>;
  /** An onSubmit handler: prevents the page load, then `run`s the action. */
  submit: (action: () => Promise<unknown>) => (e: Event) => void;
}

/**
 * One form's (or one list's) submissions: pending state, the error to show, and no double submits.
 * `mapError` moves an error to the field the form shows it on (e.g. a 401 on log in to the password).
 */
export function useForm(mapError?: (error: FormError, err: unknown) => FormError): Form {
  const [failed, setFailed] = useState<{ key: string; error: FormError } | null>(null);
  const [pending, setPending] = useState(0);
  const running = useRef(new Set<string>());
  const run = async (action: () => Promise<unknown>, key = '') => {
    if (running.current.has(key)) return;
    running.current.add(key);
    setPending((n) => n + 1);
    setFailed(null);
    try {
      await action();
    } catch (err) {
      const error = toFormError(err);
      setFailed({ key, error: mapError ? mapError(error, err) : error });
    } finally {
      running.current.delete(key);
      setPending((n) => n - 1);
    }
  };
  return {
    error: failed?.error ?? null,
    pending: pending > 0,
    errorOf: (key) => (failed?.key === key ? failed.error : null),
    run,
    submit: (action) => (e) => {
      e.preventDefault();
      void run(action);
    },
  };
}
