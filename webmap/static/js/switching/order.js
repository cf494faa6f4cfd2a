/*
 * One switching order (the right of the orders tab): its state, its
 * numbered steps (action, device, performer, who did it and when, or why it
 * was passed over), its signatures, the changes of state this user may make
 * now, "Edit" (a draft or checked order, editor.js), its study, "Do step N"
 * for the control room's steps of an order under way, "Record for crew X…"
 * for its next step when a crew's (reported by radio) and "Pass over…" for
 * its next step (with the reason: recorded as done, nothing operated).
 *
 * The buttons are the API's actions this user's role may take
 * (CONFIG.orderActions, from the route's own rule) that follow the order's
 * state; Approve is disabled for the order's writers (the two-person rule,
 * said in its title). The engine still judges each (the two-person rule, the
 * study, the sequence, the interlocks) and a refusal is drawn red under the
 * buttons. The order keeps its study's counts only: the warnings of an open
 * order are named from its live study.
 */
import { call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { openDialog } from './dialog.js';
import { editOrder } from './editor.js';
import { act, actChecked, keep } from './send.js';
import { CONFIG, may, onRender, renderSoon, store, ui } from './state.js';
import { studyView } from './study.js';
import { badge, human, plural, refusalBox, signatures, table, when } from './ui.js';

/** Each action and the states it takes an order from. */
const FROM = {
  check: ['draft'],
  approve: ['checked'],
  issue: ['approved'],
  cancel: ['draft', 'checked', 'approved', 'issued', 'in_progress'],
};
const LABEL = { check: 'Check', approve: 'Approve', issue: 'Issue', cancel: 'Cancel…' };
const TITLE = {
  check: 'Run the study on the network as operated now and sign the order as checked',
  approve: 'Approve the order: by someone other than whoever wrote it (two-person rule)',
  issue: 'Issue the order: its steps may be carried out',
  cancel: 'Cancel the order (with a reason)',
};
const ACTIVE = new Set(['issued', 'in_progress']);
const FINISHED = new Set(['completed', 'cancelled']);
/** The states an order is edited in (a checked one goes back to draft). */
const EDITABLE = new Set(['draft', 'checked']);

const orderPath = (id) => `/api/switching/orders/${encodeURIComponent(id)}`;

function cancelDialog(o) {
  openDialog({
    title: `Cancel ${o.id}`,
    body: [h('p', {}, `“${o.title}” will not be carried out.`),
      h('label', { for: 'dialog-reason' }, 'Reason (optional)'), h('input', { type: 'text', id: 'dialog-reason' })],
    ok: 'Cancel the order',
    danger: true,
    submit: async (form) => {
      const reason = form.querySelector('#dialog-reason').value.trim();
      keep(await call('POST', `${orderPath(o.id)}/cancel`, reason ? { reason } : {}));
      ui.refusals.delete(o.id);
    },
  });
}

async function study(o) {
  try {
    ui.studies.set(o.id, await call('GET', `${orderPath(o.id)}/study`));
  } catch (e) {
    ui.refusals.set(o.id, e.message);
  }
  renderSoon();
}

/** Why this user may not take action `a` on `o` now (the two-person rule), or null. */
function barred(o, a) {
  const me = CONFIG.user?.username;
  if (a !== 'approve' || !me || !(me === o.created_by || o.editors?.includes(me))) return null;
  return `You ${me === o.created_by ? 'wrote' : 'edited'} ${o.id}; another person approves it (two-person rule)`;
}

function buttons(o) {
  const list = CONFIG.orderActions.filter((a) => FROM[a]?.includes(o.state)).map((a) => h('button', {
    class: ['btn', a === 'cancel' ? 'danger' : 'primary'], 'data-act': a, title: barred(o, a) || TITLE[a],
    disabled: Boolean(barred(o, a)),
    onclick: () => (a === 'cancel' ? cancelDialog(o) : act(o.id, `${orderPath(o.id)}/${a}`)),
  }, LABEL[a]));
  if (may.study && !FINISHED.has(o.state)) {
    list.push(h('button', {
      class: 'btn', 'data-act': 'study', title: 'What each step would do on the network as operated now',
      onclick: () => study(o),
    }, 'Study'));
  }
  if (may.edit && EDITABLE.has(o.state)) {
    list.unshift(h('button', {
      class: 'btn', 'data-act': 'edit', onclick: () => editOrder(o),
      title: o.state === 'checked' ? 'Change its title or steps: it goes back to draft, to be checked again'
        : 'Change its title or steps',
    }, 'Edit'));
  }
  return list;
}

const doStep = (o, s) => actChecked(o.id, `${orderPath(o.id)}/steps/${s.seq}`, {},
  `Step ${s.seq} of ${o.id} (${human(s.action)} ${s.device})`);

/**
 * A crew reported its next step by radio: the control room records it (under
 * its own name), once asked, through the same acknowledgement of warnings.
 */
function recordForCrew(o, s) {
  let confirmed = false;
  const form = openDialog({
    title: `Record step ${s.seq} of ${o.id} for crew ${s.performer}`,
    body: h('p', {}, `${human(s.action)} ${s.device}: crew ${s.performer} reported it done (by radio). `,
      `It is recorded as done by you, ${CONFIG.user?.username ?? 'the control room'}, and checked as the crew's report would be.`),
    ok: 'Record',
    submit: () => { confirmed = true; },
  });
  // The acknowledgement (if the interlocks warn) opens in the same dialog: once this one is closed.
  form.closest('dialog').addEventListener('close', () => confirmed && doStep(o, s), { once: true });
}

function doButton(o, s) {
  if (!may.step || !ACTIVE.has(o.state) || s.done) return null;
  if (s.performer !== 'control') {
    if (s.seq !== o.next_step) return h('span', { class: 'muted' }, `crew ${s.performer}'s step`);
    return h('button', {
      class: 'btn primary', 'data-record': s.seq, onclick: () => recordForCrew(o, s),
      title: `Crew ${s.performer} reported this step done (by radio): record it for them`,
    }, `Record for crew ${s.performer}…`);
  }
  return h('button', {
    class: ['btn', s.seq === o.next_step ? 'primary' : null], 'data-do': s.seq, onclick: () => doStep(o, s),
  }, `Do step ${s.seq}`);
}

/** The control room passes over the next step (its device already so, the step no longer wanted), with the reason. */
function passOver(o, s) {
  openDialog({
    title: `Pass over step ${s.seq} of ${o.id}`,
    body: [h('p', {}, `${human(s.action)} ${s.device}: recorded as done and passed over; nothing is operated.`),
      h('label', { for: 'dialog-reason' }, 'Reason'), h('input', { type: 'text', id: 'dialog-reason', autocomplete: 'off' })],
    ok: 'Pass over',
    submit: async (form) => {
      const reason = form.querySelector('#dialog-reason').value.trim();
      keep(await call('POST', `${orderPath(o.id)}/steps/${s.seq}`, { skip: true, reason }));
      ui.refusals.delete(o.id);
    },
  });
}

function passButton(o, s) {
  if (!may.step || !ACTIVE.has(o.state) || s.seq !== o.next_step) return null;
  return h('button', {
    class: 'btn', 'data-skip': s.seq, onclick: () => passOver(o, s),
    title: 'Pass over this step, with the reason: recorded as done, nothing operated',
  }, 'Pass over…');
}

function doneBy(s) {
  if (!s.done) return '';
  if (s.skipped) return [h('span', { class: 'skipped-note' }, `passed over: ${s.note}`), h('div', { class: 'muted' }, s.done_by)];
  return ['✓ ', s.done_by];
}

function stepRow(o, s) {
  const what = [h('b', {}, human(s.action)), s.tag ? ` (${s.tag})` : '', s.document ? ` for ${s.document}` : '',
    s.note && !s.skipped ? h('div', { class: 'muted step-note' }, s.note) : null];
  return h('tr', { 'data-seq': s.seq, class: [s.done && 'done', s.skipped && 'skipped', s.seq === o.next_step && 'next'] },
    h('td', { class: 'num' }, s.seq),
    h('td', {}, what),
    h('td', {}, s.device),
    h('td', {}, s.performer === 'control' ? 'control room' : s.performer),
    h('td', {}, doneBy(s)),
    h('td', {}, s.done ? when(s.done_at) : ''),
    h('td', {}, s.acknowledged?.length ? h('span', { class: 'warn' }, s.acknowledged.join(', ')) : ''),
    h('td', { class: 'acts' }, doButton(o, s), passButton(o, s)));
}

/** The warnings of a study by rule, with their steps: ["parallel (step 1)", ...]. */
function warned(study) {
  return [...new Set((study.steps || []).flatMap((s) => (s.findings || [])
    .filter((f) => f.level === 'warn').map((f) => `${f.rule} (step ${s.seq})`)))];
}

/** Order id -> {key, rules}: the warnings of an open order's live study, read once per change of the order. */
const live = new Map();

/** The rules the study of open order `o` warns of now (null until known): the order keeps only counts. */
function liveRules(o) {
  const shown = ui.studies.get(o.id);  // the study the operator asked for
  if (shown) return warned(shown);
  const key = JSON.stringify([o.state, o.signatures.length, o.steps]);
  if (live.get(o.id)?.key !== key) {
    live.set(o.id, { key, rules: null });
    call('GET', `${orderPath(o.id)}/study`).then((doc) => {
      if (live.get(o.id)?.key === key) live.set(o.id, { key, rules: warned(doc) });
      renderSoon();
    }, () => {});  // unknown: "see Study" stays
  }
  return live.get(o.id).rules;
}

function checkedWarnings(o, n) {
  let more = '';
  if (FINISHED.has(o.state)) {
    const acked = [...new Set(o.steps.flatMap((s) => s.acknowledged || []))];
    if (acked.length) more = ` (acknowledged: ${acked.join(', ')})`;
  } else {
    const rules = liveRules(o);
    more = rules === null ? ' (see Study)' : rules.length ? `: ${rules.join(', ')}` : ' (none in the study now)';
  }
  return h('span', { class: 'warn', id: 'checked-warnings' }, ` · ${plural(n, 'warning')}${more}`);
}

function checked(o) {
  const st = o.study;
  if (!st) return null;
  return h('p', { class: 'checked-study' }, 'As checked: ',
    h('b', {}, st.customers_interrupted), ' customers interrupted, ',
    h('b', {}, (st.critical_interrupted || []).length), ' critical',
    (st.critical_interrupted || []).length ? ` (${st.critical_interrupted.join(', ')})` : '',
    st.warnings ? checkedWarnings(o, st.warnings) : '');
}

function view(o) {
  const done = o.steps.filter((s) => s.done).length;
  const study = ui.studies.get(o.id);
  return [
    h('header', { class: 'detail-head' },
      h('h2', { id: 'order-title' }, o.id), badge(o.state), h('span', { class: 'muted' }, human(o.kind)),
      h('span', { class: 'title' }, o.title)),
    h('p', { class: 'muted' }, `Written by ${o.created_by} at ${when(o.created_at)}`,
      o.editors?.length ? `; edited by ${o.editors.join(', ')}` : '',
      o.outage ? ` · outage ${o.outage}` : '', o.planned ? ` · planned outage ${o.planned}` : '',
      ` · ${done} of ${o.steps.length} steps done`),
    h('div', { class: 'actions', id: 'order-actions' }, buttons(o)),
    refusalBox(ui.refusals.get(o.id)),
    checked(o),
    table('steps', ['#', 'Action', 'Device', 'Performer', 'Done by', 'At', 'Acknowledged', ''],
      o.steps.map((s) => stepRow(o, s))),
    study ? studyView(study, `Study of ${o.id} on the network as operated now`) : null,
    h('h3', {}, 'Signatures'),
    signatures(o.signatures),
  ];
}

let shown = null;

/** Draws the order chosen, when what it shows changed (not while a new order is written). */
function draw() {
  if (ui.editing) {
    shown = null;
    return;
  }
  const o = ui.order ? store.orders.get(ui.order) : null;
  const sig = JSON.stringify([ui.order, o, ui.studies.get(ui.order), ui.refusals.get(ui.order), live.get(ui.order),
    store.loaded]);
  if (sig === shown) return;
  shown = sig;
  const box = byId('order-detail');
  if (!o) {
    const why = !ui.order ? 'Choose an order, or write a new one.'
      : store.loaded ? `No switching order ${ui.order}.` : `Loading ${ui.order}…`;
    fill(box, h('p', { class: 'empty' }, why));
    return;
  }
  fill(box, view(o));
}
onRender(draw);
