/* Notices for the crew (#alerts): the newest first, five at most, each dismissed with OK. */
import { byId, h } from '../dom.js';

const KEEP = 5;

/** A notice; one with the same `key` replaces the earlier one. level: '', 'warn' or 'bad'. */
export function showAlert(text, level, key) {
  const box = byId('alerts');
  if (key) {
    for (const old of box.querySelectorAll('[data-key]')) if (old.dataset.key === key) old.remove();
  }
  const banner = h('div', { class: ['banner', level], role: 'status', 'data-key': key || null },
    h('p', {}, text),
    h('div', { class: 'row' }, h('button', { class: 'btn small', type: 'button', onclick: () => banner.remove() }, 'OK')));
  box.prepend(banner);
  while (box.children.length > KEEP) box.lastChild.remove();
}
