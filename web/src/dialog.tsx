/** A modal dialog on the native <dialog> element (focus trapping and Escape come for free). */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; testid?: string; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} class={props.wide ? 'dialog wide' : 'dialog'} data-testid={props.testid}
      onCancel={(e) => { e.preventDefault(); props.onClose(); }}>
      <div class="dialog-head">
        <h2>{props.title}</h2>
        <button type="button" class="ghost" aria-label="Close" onClick={props.onClose}>✕</button>
      </div>
      {props.children}
    </dialog>
  );
}

/** A yes/no question before something that cannot be undone: Cancel (or Escape) does nothing. */
export function ConfirmDialog(props: {
  title: string; children: ComponentChildren; confirm: string; busy: boolean; testid: string; confirmTestid: string;
  onConfirm: () => void; onCancel: () => void;
}) {
  return (
    <Dialog title={props.title} onClose={props.onCancel} testid={props.testid}>
      {props.children}
      <div class="actions">
        <button type="button" onClick={props.onCancel}>Cancel</button>
        <button type="button" class="danger" data-testid={props.confirmTestid} disabled={props.busy} onClick={props.onConfirm}>{props.confirm}</button>
      </div>
    </Dialog>
  );
}
