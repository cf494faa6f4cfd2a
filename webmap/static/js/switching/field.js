/*
 * The field changes tab: tags, grounds, jumpers and cuts in place (placed
 * and removed by the steps of switching orders), oldest first; with
 * "removed too", those taken away as well. The dispatcher's map draws the
 * same beside their devices (/map/field.geojson).
 */
import { call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { onRender, renderSoon, store, ui } from './state.js';
import { table, toast, when } from './ui.js';

const KIND_TEXT = { tag: 'tag', ground: 'ground', jumper: 'jumper', cut: 'cut' };

/** Reads the field changes (in place, or all): on load, on reconnection, and when asked. */
export async function loadField() {
  try {
    const rows = await call('GET', `/api/switching/field${ui.fieldAll ? '?all=true' : ''}`);
    store.field.clear();
    for (const c of rows) store.field.set(c.id, c);
  } catch (e) {
    toast(`Field changes: ${e.message}`, 'error');
  }
  renderSoon();
}

/** One change from the stream: kept, or gone once removed (unless removed ones are shown). */
export function applyField(c) {
  if (c.removed_at && !ui.fieldAll) store.field.delete(c.id);
  else store.field.set(c.id, c);
}

export function wireField() {
  fill(byId('field-toolbar'), h('div', { class: 'row' },
    h('label', { class: 'check' }, h('input', {
      type: 'checkbox', id: 'field-all',
      onchange: (ev) => { ui.fieldAll = ev.target.checked; loadField(); },
    }), ' Removed too')));
}

function row(c) {
  return h('tr', { 'data-id': c.id, 'data-kind': c.kind, class: c.removed_at && 'removed' },
    h('td', {}, h('span', { class: ['fc', c.kind, c.tag && `tag-${c.tag}`] }, KIND_TEXT[c.kind] || c.kind)),
    h('td', {}, h('b', {}, c.device)),
    h('td', {}, c.tag || ''),
    h('td', {}, c.document || ''),
    h('td', {}, c.order ? `${c.order}${c.step ? ` step ${c.step}` : ''}` : ''),
    h('td', {}, c.placed_by, ' ', h('span', { class: 'muted' }, when(c.placed_at))),
    h('td', {}, c.removed_at ? [c.removed_by, ' ', h('span', { class: 'muted' }, when(c.removed_at))] : ''),
    h('td', { class: 'muted' }, c.id));
}

let last = null;

function draw() {
  const rows = Array.from(store.field.values())
    .sort((a, b) => (a.placed_at < b.placed_at ? -1 : a.placed_at > b.placed_at ? 1 : 0));
  byId('count-field').textContent = rows.filter((c) => !c.removed_at).length;
  const sig = JSON.stringify([rows, store.loaded]);
  if (sig === last) return;
  last = sig;
  fill(byId('field-list'), rows.length
    ? table('field', ['Kind', 'Device', 'Tag', 'Document', 'Order', 'Placed', 'Removed', 'Id'], rows.map(row))
    : h('p', { class: 'empty' }, store.loaded ? 'Nothing in the field.' : 'Loading…'));
}
onRender(draw);
