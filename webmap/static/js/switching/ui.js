/* Small drawing helpers of the switching page: times, badges, tables, toasts. */
import { now } from '../clock.js';
import { byId, h } from '../dom.js';

const pad = (n) => String(n).padStart(2, '0');

/** "10:32" today (by the server's clock), else "2026-03-10 10:32"; a dash for none. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  const today = new Date(now());
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** A datetime-local input's value for an ISO time (this browser's zone). */
export function localInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** on_site -> "on site". */
export const human = (name) => String(name ?? '').replace(/_/g, ' ');

export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The words of a list typed by hand ("F12, F17" -> ["F12", "F17"]). */
export const words = (text) => String(text || '').split(/[\s,;]+/).filter(Boolean);

export const badge = (state) => h('span', { class: ['badge', state], 'data-state': state }, human(state));

/** A table: `head` the column names, `rows` its <tr> elements. */
export function table(cls, head, rows) {
  return h('table', { class: ['grid', cls] },
    h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows));
}

/** Who signed each change of state, and when. */
export function signatures(sigs) {
  return h('ol', { class: 'signatures' }, (sigs || []).map((s) => h('li', { 'data-state': s.state },
    h('b', {}, human(s.state)), ' — ', s.user, ' ', h('span', { class: 'muted' }, `(${s.role})`), ' ', when(s.at),
    s.note ? h('span', { class: 'muted' }, ` · ${s.note}`) : null)));
}

/** The engine's reason for a refusal, red; a list when it names several things. */
export function refusalBox(message, cls = 'refusal') {
  if (!message) return null;
  const [head, ...rest] = message.split(/: (?=(?:point|step) \d+:)/);
  const items = rest.length ? rest.join(': ').split('; ') : [];
  return h('div', { class: cls, role: 'alert' },
    h('b', {}, 'Refused: '), items.length ? `${head}:` : message,
    items.length ? h('ul', {}, items.map((i) => h('li', {}, i))) : null);
}

/** A short notice in the corner; kind: '', 'ok', 'warning', 'error'. */
export function toast(text, kind = '', ms = 6000) {
  const box = byId('toasts');
  const note = h('div', { class: ['toast', kind] }, text);
  box.append(note);
  while (box.children.length > 5) box.firstChild.remove();
  setTimeout(() => note.remove(), ms);
}

/** A labelled input or select for a form (the label's text first). */
export function labelled(text, control, cls) {
  return h('label', { class: ['form-field', cls] }, h('span', {}, text), control);
}
