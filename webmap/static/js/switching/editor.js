/*
 * Writing a new switching order, or editing a draft or checked one (in place
 * of the order shown): a title, a kind, and steps added row by row: the
 * action, the device (the edges the action fits offered: switching devices
 * to operate or tag, lines and cables to cut, any edge to ground or
 * jumper), who performs it (the control room or a crew), for a tag its
 * kind and document, and a note for whoever carries it out.
 *
 * As it is written the order is studied live (POST /api/switching/study,
 * nothing saved, at most one request in flight: the last rows win), so
 * the customers each step cuts off and the rules it breaks are seen before
 * it is saved. "Save draft" writes it (POST /api/switching/orders); "Save
 * changes" replaces an order's title and steps (POST .../<id>/edit: a
 * checked order goes back to draft, to be checked again). The engine names
 * a step that is wrong.
 */
import { call } from '../api.js';
import { $$, byId, fill, h } from '../dom.js';
import { keep } from './send.js';
import { CONFIG, crewIds, hooks, renderSoon, ui } from './state.js';
import { studyView } from './study.js';
import { human, labelled, toast } from './ui.js';

const STUDY_WAIT_MS = 400;
let studySeq = 0;
let timer = null;
hooks.liveStudies = 0;

/** The network's edge ids by kind (#edge-ids, webmap/switching_page.py). */
const EDGES = JSON.parse(byId('edge-ids').textContent);
const deviceLists = new Map();  // kinds -> the id of their <datalist>

/** The <datalist> of the edges `action` fits (CONFIG.stepKinds), made when first needed. */
function deviceList(action) {
  const kinds = CONFIG.stepKinds[action] || [];
  const key = kinds.join(' ');
  if (!deviceLists.has(key)) {
    const id = `step-devices-${deviceLists.size + 1}`;
    byId('device-ids').after(h('datalist', { id, 'data-kinds': key },
      kinds.map((k) => (EDGES[k] || []).map((e) => h('option', { value: e }, k)))));
    deviceLists.set(key, id);
  }
  return deviceLists.get(key);
}

function options(values, selected, label = human) {
  return values.map((v) => h('option', { value: v, selected: v === selected }, label(v)));
}

function stepRow(step = {}) {
  const action = step.action || 'open';
  const performer = step.performer || 'control';
  const tag = h('select', { class: 'step-tag', 'aria-label': 'Tag kind', hidden: action !== 'place_tag' },
    options(CONFIG.tagKinds, step.tag || 'clearance'));
  const device = h('input', {
    type: 'text', class: 'step-device', list: deviceList(action), 'aria-label': 'Device', value: step.device || '',
    placeholder: 'device id', autocomplete: 'off', spellcheck: 'false',
  });
  // A crew no longer listed stays the step's performer until changed (the engine judges it).
  const crews = [...new Set(['control'].concat(crewIds(), performer))];
  const row = h('tr', { class: 'step-row' },
    h('td', { class: 'num seq' }),
    h('td', {}, h('select', {
      class: 'step-action', 'aria-label': 'Action',
      onchange: (ev) => {
        tag.hidden = ev.target.value !== 'place_tag';
        device.setAttribute('list', deviceList(ev.target.value));
      },
    }, options(CONFIG.stepActions, action))),
    h('td', {}, device),
    h('td', {}, h('select', { class: 'step-performer', 'aria-label': 'Performer' },
      options(crews, performer, (v) => (v === 'control' ? 'control room' : `crew ${v}`)))),
    h('td', {}, tag, h('input', {
      type: 'text', class: 'step-document', 'aria-label': 'Safety document', placeholder: 'document (optional)',
      value: step.document || '',
    })),
    h('td', {}, h('input', {
      type: 'text', class: 'step-note', 'aria-label': 'Note', placeholder: 'note (optional)', value: step.note || '',
    })),
    h('td', {}, h('button', {
      type: 'button', class: 'btn icon remove', title: 'Remove this step',
      onclick: () => { row.remove(); numberRows(); studySoon(); },
    }, '✕')));
  return row;
}

function numberRows() {
  $$('#new-steps tr').forEach((tr, k) => { tr.querySelector('.seq').textContent = k + 1; });
}

/** The steps as the API takes them (rows without a device left out). */
function steps() {
  return $$('#new-steps tr').map((tr) => {
    const s = {
      action: tr.querySelector('.step-action').value,
      device: tr.querySelector('.step-device').value.trim(),
      performer: tr.querySelector('.step-performer').value,
    };
    if (s.action === 'place_tag') s.tag = tr.querySelector('.step-tag').value;
    const doc = tr.querySelector('.step-document').value.trim();
    if (doc) s.document = doc;
    const note = tr.querySelector('.step-note').value.trim();
    if (note) s.note = note;
    return s;
  }).filter((s) => s.device);
}

async function studyNow() {
  timer = null;
  const mine = ++studySeq;
  const box = byId('new-study');
  if (!box) return;  // the form was saved or discarded meanwhile
  const given = steps();
  if (!given.length) {
    fill(box, h('p', { class: 'muted' }, 'Add steps: they are studied as you write them.'));
    return;
  }
  let doc = null;
  let error = null;
  try {
    doc = await call('POST', '/api/switching/study', { steps: given });
  } catch (e) {
    error = e.message;
  }
  if (mine !== studySeq || !byId('new-study')) return;  // a later study, or the form is gone
  hooks.liveStudies += 1;
  fill(box, error ? h('p', { class: 'refusal', role: 'alert' }, error)
    : studyView(doc, 'Study as written (nothing is saved or operated)'));
}

function studySoon() {
  clearTimeout(timer);
  timer = setTimeout(studyNow, STUDY_WAIT_MS);
}

async function save(form) {
  const error = byId('new-error');
  const edited = ui.editing?.order;
  const body = { title: form.querySelector('#new-title').value.trim(), steps: steps() };
  if (!edited) body.kind = form.querySelector('#new-kind').value;
  if (ui.editing?.planned) body.planned = ui.editing.planned;
  if (!body.title) {
    error.textContent = 'Give the order a title.';
    return;
  }
  try {
    const doc = keep(edited
      ? await call('POST', `/api/switching/orders/${encodeURIComponent(edited.id)}/edit`, body)
      : await call('POST', '/api/switching/orders', body));
    if (edited?.state === 'checked') toast(`${doc.id} is a draft again: check it again`, 'warning');
    ui.refusals.delete(doc.id);
    clearTimeout(timer);
    ui.editing = null;
    ui.order = doc.id;
    history.replaceState(null, '', `#order/${encodeURIComponent(doc.id)}`);
    renderSoon();
  } catch (e) {
    error.textContent = e.message;
  }
}

/**
 * Opens the form for a new order (for a planned outage, with steps to start
 * from), or for `order`'s title and steps (its kind stays: the API edits
 * the title and the steps).
 */
export function openEditor({ planned = null, title = '', kind = 'planned', given = [], order = null } = {}) {
  ui.editing = { planned, order };
  clearTimeout(timer);
  const rows = h('tbody', { id: 'new-steps' }, (given.length ? given : [{}]).map(stepRow));
  const form = h('form', {
    class: 'editor', id: 'order-editor',
    onsubmit: (ev) => { ev.preventDefault(); save(ev.target); },
    oninput: studySoon,
    onchange: studySoon,
  },
  h('h2', {}, order ? `Edit ${order.id}` : 'New switching order', planned ? ` for ${planned}` : ''),
  order?.state === 'checked'
    ? h('p', { class: 'warn', id: 'edit-notice' },
      `${order.id} is checked: saved, it goes back to draft (its study dropped) and is checked again.`)
    : null,
  h('div', { class: 'row' },
    labelled('Title', h('input', { type: 'text', id: 'new-title', value: title, required: true, autocomplete: 'off' }), 'wide'),
    labelled('Kind', h('select', { id: 'new-kind', disabled: Boolean(order) }, options(CONFIG.orderKinds, kind)))),
  h('table', { class: 'grid steps-editor' },
    h('thead', {}, h('tr', {}, ['#', 'Action', 'Device', 'Performer', 'Tag / document', 'Note', ''].map((c) => h('th', {}, c)))),
    rows),
  h('div', { class: 'actions' },
    h('button', {
      type: 'button', class: 'btn', id: 'add-step',
      onclick: () => {
        rows.append(stepRow());
        numberRows();
        rows.lastChild.querySelector('.step-device').focus();
      },
    }, 'Add step'),
    h('span', { class: 'spacer' }),
    h('button', {
      type: 'button', class: 'btn', id: 'cancel-edit',
      onclick: () => { ui.editing = null; clearTimeout(timer); renderSoon(); },
    }, 'Discard'),
    h('button', { type: 'submit', class: 'btn primary', id: 'save-order' }, order ? 'Save changes' : 'Save draft')),
  h('div', { class: 'error', id: 'new-error', role: 'alert' }),
  h('div', { id: 'new-study' }));
  fill(byId('order-detail'), form);
  numberRows();
  form.querySelector('#new-title').focus();
  studyNow();
}

/** Opens the form on a draft or checked order, filled with its title and steps. */
export function editOrder(o) {
  openEditor({ order: o, title: o.title, kind: o.kind, given: o.steps });
}
