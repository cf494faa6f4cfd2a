/*
 * The page's one modal dialog (#dialog): a form with a title, a body, Cancel
 * and an optional primary button. `submit(form, submitter)` runs on submit
 * with the buttons disabled; when it throws, its message is shown and the
 * dialog stays open, else the dialog closes.
 */
import { $$, byId, fill, h } from '../dom.js';

const dialog = byId('dialog');

export function openDialog({ title, body, ok = null, danger = false, submit }) {
  const error = h('div', { class: 'error', id: 'dialog-error' });
  const form = h('form', { method: 'dialog' },
    h('h2', { id: 'dialog-title' }, title),
    h('div', { class: 'body' }, body, error),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', id: 'dialog-cancel', onclick: () => dialog.close() }, ok ? 'Cancel' : 'Close'),
      ok ? h('button', { type: 'submit', class: ['btn', danger ? 'danger' : 'primary'], id: 'dialog-ok' }, ok) : null));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    await run(error, () => submit(form, ev.submitter));
  });
  fill(dialog, form);
  dialog.showModal();
  return form;
}

async function run(error, fn) {
  const buttons = $$('button', dialog);
  for (const b of buttons) b.disabled = true;
  try {
    await fn();
    dialog.close();
  } catch (e) {
    error.textContent = e.message;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

/** A labelled text input (the label first, as in every dialog of the page). */
export function field(id, label, attrs = {}) {
  return [h('label', { for: id }, label), h('input', { type: 'text', id, ...attrs })];
}

/** The trimmed value of the input with this id in `form`. */
export const valueOf = (form, id) => form.querySelector(`#${id}`).value.trim();
