/* Short notices in the corner (#toasts): the last five, each for a few seconds. */
import { byId, h } from '../dom.js';

const KEEP = 5;

/** kind: '', 'ok', 'warning', 'error' or 'breach'. */
export function toast(text, kind = '', ms = 6000) {
  const box = byId('toasts');
  const note = h('div', { class: ['toast', kind] }, text);
  box.append(note);
  while (box.children.length > KEEP) box.firstChild.remove();
  setTimeout(() => note.remove(), ms);
}
