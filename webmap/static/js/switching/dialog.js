/*
 * The page's one modal dialog (#dialog): a form with a title, a body, Cancel
 * and an optional primary button. `submit(form, submitter)` runs on submit
 * with the buttons disabled; when it throws, its message is shown and the
 * dialog stays open, else the dialog closes.
 */
import { $$, byId, fill, h } from '../dom.js';

const dialog = byId('dialog');

export function openDialog({ title, body, ok = null, danger = false, submit }) {
  const error = h('div', { class: 'error', id: 'dialog-error', role: 'alert' });
  const form = h('form', { method: 'dialog' },
    h('h2', { id: 'dialog-title' }, title),
    h('div', { class: 'body' }, body, error),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', id: 'dialog-cancel', onclick: () => dialog.close() }, ok ? 'Cancel' : 'Close'),
      ok ? h('button', { type: 'submit', class: ['btn', danger ? 'danger' : 'primary'], id: 'dialog-ok' }, ok) : null));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const buttons = $$('button', dialog);
    for (const b of buttons) b.disabled = true;
    try {
      await submit(form, ev.submitter);
      dialog.close();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
  fill(dialog, form);
  dialog.showModal();
  return form;
}

/** Asks for an optional reason, then runs `submit(reason)` (its refusal shown in the dialog). */
export function reasonDialog(title, ok, submit, danger = false) {
  openDialog({
    title,
    body: [h('label', { for: 'dialog-reason' }, 'Reason (optional)'), h('input', { type: 'text', id: 'dialog-reason' })],
    ok,
    danger,
    submit: (form) => submit(form.querySelector('#dialog-reason').value.trim()),
  });
}
