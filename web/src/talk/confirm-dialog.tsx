import { useRef } from 'preact/hooks';

/**
 * A button that asks first: a modal dialog (focus moves into it, Escape cancels) with the
 * consequence spelled out and the action's own name on the confirming button.
 */
export function ConfirmButton({
  label,
  title,
  body,
  confirm,
  onConfirm,
  class: cls,
}: {
  label: string;
  title: string;
  body: string;
  confirm: string;
  onConfirm(): void;
  class?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useRef(`confirm-${Math.random().toString(36).slice(2)}`).current;
  return (
    <>
      <button type="button" class={cls} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} class="confirm" aria-labelledby={`${id}-title`} aria-describedby={`${id}-body`}>
        <h2 id={`${id}-title`}>{title}</h2>
        <p id={`${id}-body`}>{body}</p>
        <form method="dialog" class="row">
          <button type="submit" autofocus>
            Cancel
          </button>
          <button
            type="button"
            class="danger"
            onClick={() => {
              dialog.current?.close();
              onConfirm();
            }}
          >
            {confirm}
          </button>
        </form>
      </dialog>
    </>
  );
}
