/*
 * The safety documents tab: clearances, holds and delegated control.
 *
 * A document lists isolation points (a device held open or closed, with
 * its tag and maybe a ground) and is issued to a crew. "Issue" is refused
 * while a point is not as listed: the refusal names each unmet point, drawn
 * as a list under the document. Its crew (or the control room) releases it;
 * a draft may be cancelled. The buttons are the actions this user's role
 * may take (CONFIG.safetyActions) that follow the document's state.
 */
import { call } from '../api.js';
import { $$, byId, fill, h } from '../dom.js';
import { act, keep } from './send.js';
import { CONFIG, crewIds, may, newest, onRender, renderSoon, store, ui } from './state.js';
import { badge, labelled, refusalBox, table, toast, when } from './ui.js';

const FROM = { issue: ['draft'], cancel: ['draft'], release: ['issued'] };
const LABEL = { issue: 'Issue', release: 'Release', cancel: 'Cancel' };
const OPEN = new Set(['draft', 'issued']);
const path = (id, action) => `/api/switching/safety/${encodeURIComponent(id)}/${action}`;

function pointText(p) {
  return [p.device, ` ${p.state}`, p.tag ? ' · tag' : '', p.ground ? ' · ground' : ''].join('');
}

function row(d) {
  const buttons = CONFIG.safetyActions.filter((a) => FROM[a]?.includes(d.state)).map((a) => h('button', {
    class: ['btn', a === 'issue' ? 'primary' : a === 'cancel' ? 'danger' : null], 'data-act': a,
    onclick: () => act(d.id, path(d.id, a)),
  }, LABEL[a]));
  const refusal = ui.refusals.get(d.id);
  const last = d.signatures?.[d.signatures.length - 1];
  return [
    h('tr', { 'data-id': d.id, class: refusal && 'refused' },
      h('td', {}, h('b', {}, d.id)),
      h('td', {}, d.kind),
      h('td', {}, d.crew),
      h('td', {}, d.work || h('span', { class: 'muted' }, '—'), d.order ? h('div', { class: 'muted' }, d.order) : null),
      h('td', {}, h('ul', { class: 'points' }, d.points.map((p) => h('li', {}, pointText(p))))),
      h('td', {}, badge(d.state), last ? h('div', { class: 'muted' }, `${last.user} ${when(last.at)}`) : null),
      h('td', { class: 'acts' }, buttons)),
    refusal ? h('tr', { class: 'refusal-row', 'data-for': d.id }, h('td', { colspan: 7 }, refusalBox(refusal))) : null,
  ];
}

function pointRow() {
  const tr = h('tr', { class: 'point-row' },
    h('td', {}, h('input', { type: 'text', class: 'point-device', list: 'device-ids', 'aria-label': 'Device', placeholder: 'device id', autocomplete: 'off' })),
    h('td', {}, h('select', { class: 'point-state', 'aria-label': 'Held' }, h('option', { value: 'open' }, 'open'), h('option', { value: 'closed' }, 'closed'))),
    h('td', {}, h('input', { type: 'checkbox', class: 'point-tag', checked: true, 'aria-label': 'Tag' })),
    h('td', {}, h('input', { type: 'checkbox', class: 'point-ground', 'aria-label': 'Ground' })),
    h('td', {}, h('button', { type: 'button', class: 'btn icon', title: 'Remove', onclick: () => tr.remove() }, '✕')));
  return tr;
}

function openForm() {
  const points = h('tbody', { id: 'safety-points' }, pointRow());
  const form = h('form', {
    class: 'editor', id: 'safety-form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const body = {
        kind: byId('sd-kind').value,
        crew: byId('sd-crew').value,
        work: byId('sd-work').value.trim(),
        points: $$('#safety-points tr').map((tr) => ({
          device: tr.querySelector('.point-device').value.trim(),
          state: tr.querySelector('.point-state').value,
          tag: tr.querySelector('.point-tag').checked,
          ground: tr.querySelector('.point-ground').checked,
        })).filter((p) => p.device),
      };
      const order = byId('sd-order').value.trim();
      if (order) body.order = order;
      try {
        const doc = keep(await call('POST', '/api/switching/safety', body));
        toast(`${doc.id} written: issue it once every point is as listed`, 'ok');
        fill(byId('safety-form-box'));
      } catch (e) {
        byId('sd-error').textContent = e.message;
      }
    },
  },
  h('h2', {}, 'New safety document'),
  h('div', { class: 'row' },
    labelled('Kind', h('select', { id: 'sd-kind' }, CONFIG.documentKinds.map((k) => h('option', { value: k }, k)))),
    labelled('Crew', h('select', { id: 'sd-crew' }, crewIds().map((c) => h('option', { value: c }, c)))),
    labelled('Work', h('input', { type: 'text', id: 'sd-work', placeholder: 'e.g. replace bushings' }), 'wide'),
    labelled('Order (optional)', h('input', { type: 'text', id: 'sd-order', placeholder: 'SO-…' }))),
  table('points-editor', ['Isolation point', 'Held', 'Tag', 'Ground', ''], points),
  h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'btn', id: 'sd-add-point', onclick: () => points.append(pointRow()) }, 'Add point'),
    h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'btn', onclick: () => fill(byId('safety-form-box')) }, 'Discard'),
    h('button', { type: 'submit', class: 'btn primary', id: 'sd-create' }, 'Write document')),
  h('div', { class: 'error', id: 'sd-error', role: 'alert' }));
  fill(byId('safety-form-box'), form);
}

export function wireSafety() {
  fill(byId('safety-toolbar'), h('div', { class: 'row' },
    may.safety ? h('button', { class: 'btn primary', id: 'new-safety', onclick: openForm }, 'New safety document…') : null,
    h('label', { class: 'check' }, h('input', {
      type: 'checkbox', id: 'safety-open', checked: ui.safetyOpen,
      onchange: (ev) => { ui.safetyOpen = ev.target.checked; renderSoon(); },
    }), ' Only open (draft or issued)')));
}

let last = null;

function draw() {
  const docs = newest(store.safety);
  byId('count-safety').textContent = docs.filter((d) => OPEN.has(d.state)).length;
  const shown = docs.filter((d) => !ui.safetyOpen || OPEN.has(d.state));
  const sig = JSON.stringify([shown, shown.map((d) => ui.refusals.get(d.id)), store.loaded]);
  if (sig === last) return;
  last = sig;
  fill(byId('safety-list'), shown.length
    ? table('safety', ['Document', 'Kind', 'Crew', 'Work', 'Points', 'State', ''], shown.map(row))
    : h('p', { class: 'empty' }, store.loaded ? 'No safety documents.' : 'Loading…'));
}
onRender(draw);
