/*
 * The Switching view (#/switching, the tab beside the jobs): each order with
 * its steps in order and where it stands, the safety documents issued to the
 * crew and the planned outages it works on (switching.js keeps them).
 *
 * Only the next step of an order, when it is the crew's, has a Done button;
 * the other steps (the control room's, another crew's, later ones) are shown
 * with their state. Done and Release take a second tap: what they report
 * changes the network and the crew's protection.
 */
import { byId, fill, h } from '../dom.js';
import { S } from './state.js';
import { itemsFor, mine, nextStep, release, stepDone, stepStatus, stepText } from './switching.js';
import { ago, hhmm } from './time.js';
import { DESK_STATE_LABEL, DOCUMENT_LABEL } from './vocab.js';

const CONFIRM_MS = 5000;

let confirming = null;      // the button waiting for its second tap ('SO-1/2', 'SD-1')
const busy = new Set();     // buttons pressed, waiting for a GPS fix

/** Shows the view over the job list (or hides it). */
export function showSwitching(on) {
  byId('switching-view').hidden = !on;
  if (on) {
    byId('list-view').hidden = true;
    byId('title').textContent = 'Switching';
  }
  byId('tab-jobs').setAttribute('aria-current', on ? 'false' : 'page');
  byId('tab-switching').setAttribute('aria-current', on ? 'page' : 'false');
  renderSwitching();
}

const tag = (text, cls = '', attrs = {}) => h('span', { class: ['tag', cls], ...attrs }, text);
const who = (performer) =>
  performer === 'control' ? 'control room' : performer === S.user?.crew ? 'your crew' : `crew ${performer}`;

/** The orders waiting for this crew and the documents it holds: the tab's count. */
function waiting() {
  const W = S.switching;
  const turn = W.orders.filter((o) => {
    const next = nextStep(o);
    return next && mine(next);
  }).length;
  return turn + W.safety.filter((d) => d.state === 'issued').length;
}

export function renderSwitching() {
  const n = waiting();
  const count = byId('switching-n');
  count.hidden = n === 0;
  count.textContent = String(n);
  if (byId('switching-view').hidden) return;
  const W = S.switching;
  if (!S.user?.crew) {
    fill(byId('orders'), h('p', { class: 'muted' }, 'Switching is shown to crew accounts.'));
    fill(byId('safety'));
    fill(byId('planned'));
    return;
  }
  fill(byId('orders'), W.orders.length ? W.orders.map(orderCard)
    : h('p', { class: 'muted' }, 'No switching orders issued to your crew.'));
  fill(byId('safety'), W.safety.length ? W.safety.map(safetyCard)
    : h('p', { class: 'muted' }, 'No safety documents issued to your crew.'));
  fill(byId('planned'), W.planned.length ? W.planned.map(plannedCard)
    : h('p', { class: 'muted' }, 'No planned outages for your crew.'));
  const when = W.synced ? `Switching as of ${hhmm(W.synced)} (${ago(W.synced)})` : 'Switching not loaded yet';
  byId('switching-synced').textContent = S.online ? when : `${when} · offline: showing the last known`;
}

/** A button that asks for a second tap, then runs `act` (which may wait for a GPS fix). */
function twoTap(key, label, act, attrs) {
  const armed = confirming === key;
  const waitingFix = busy.has(key);
  return h('button', {
    class: ['btn', 'small', armed ? 'confirm' : 'primary'],
    type: 'button',
    disabled: waitingFix,
    ...attrs,
    onclick: async () => {
      if (!armed) {
        confirming = key;
        renderSwitching();
        setTimeout(() => {
          if (confirming === key) {
            confirming = null;
            renderSwitching();
          }
        }, CONFIRM_MS);
        return;
      }
      confirming = null;
      busy.add(key);
      renderSwitching();
      try {
        await act();
      } finally {
        busy.delete(key);
        renderSwitching();
      }
    },
  }, waitingFix ? 'Locating…' : armed ? 'Tap again to confirm' : label);
}

// ------------------------------------------------------------------ orders
function where(order, next) {
  if (order.state === 'completed') return `Completed ${hhmm(order.signatures?.at(-1)?.at)}`;
  if (order.state === 'cancelled') return 'Cancelled by the control room';
  if (!next) return 'Every step reported; waiting to send';
  if (mine(next)) return `Your turn: step ${next.seq}`;
  return `Waiting for the ${who(next.performer)}: step ${next.seq}`;
}

function stepRow(order, step, next) {
  const st = stepStatus(order, step);
  const own = mine(step);
  const isNext = next && next.seq === step.seq;
  let status;
  if (st.kind === 'done') {
    status = h('span', { class: 'ok' }, `✓ ${hhmm(st.time)}${step.done_by ? ` by ${step.done_by}` : ''}`);
  } else if (st.kind === 'queued') {
    status = h('span', { class: 'pending' }, `queued ${hhmm(st.time)} · to send`);
  } else if (st.kind === 'refused') {
    const warn = st.item.ack?.length;
    status = h('span', { class: 'error' }, warn ? 'Not applied: warning to acknowledge (above)'
      : 'Not applied: refused (reason above)');
  } else if (isNext && own) {
    status = twoTap(`${order.id}/${step.seq}`, 'Done', () => stepDone(order, step), { 'data-done': step.seq });
  } else {
    status = h('span', { class: 'muted' }, isNext ? 'next' : 'to do');
  }
  return h('li', {
    class: ['step', st.kind, own ? 'mine' : 'theirs', isNext && 'next'],
    'data-step': step.seq,
    'data-state': st.kind,
  },
  h('div', { class: 'what' },
    h('strong', {}, `${step.seq}. ${stepText(step)}`),
    h('span', { class: 'who' }, who(step.performer)),
    step.note ? h('span', { class: 'muted' }, step.note) : null),
  h('div', { class: 'status' }, status));
}

function orderCard(order) {
  const next = nextStep(order);
  const finished = ['completed', 'cancelled'].includes(order.state);
  return h('article', { class: ['card', 'desk', finished && 'finished'], 'data-order': order.id },
    h('div', { class: 'top' }, h('span', {}, order.id),
      h('span', { class: 'state' }, DESK_STATE_LABEL[order.state] || order.state)),
    h('div', { class: 'sub' }, order.title),
    h('div', {},
      tag(order.kind),
      order.outage ? tag(order.outage) : null,
      order.planned ? tag(`planned ${order.planned}`) : null),
    h('p', { class: 'where', 'data-where': '' }, where(order, next)),
    h('ol', { class: 'steps' }, order.steps.map((s) => stepRow(order, s, next))));
}

// ---------------------------------------------------------------- documents
function signed(doc, state) {
  const s = (doc.signatures || []).filter((x) => x.state === state).at(-1);
  return s ? `${hhmm(s.at)} by ${s.user}` : null;
}

function safetyCard(doc) {
  const items = itemsFor(doc.id);
  const queued = items.find((i) => i.status === 'queued');
  const refused = items.find((i) => i.status !== 'queued');
  let action = null;
  if (doc.state === 'released') action = h('span', { class: 'ok' }, `Released ${signed(doc, 'released') || ''}`);
  else if (queued) action = h('span', { class: 'pending' }, `Release queued ${hhmm(queued.body.time)} · to send`);
  else if (refused) action = h('span', { class: 'error' }, 'Release not applied (reason above)');
  else if (doc.state === 'issued') action = twoTap(doc.id, 'Release', () => release(doc), { 'data-release': doc.id });
  const points = (doc.points || []).map((p) => h('li', { 'data-device': p.device },
    h('strong', {}, p.device), ` ${p.state}`, p.tag ? tag('tagged') : null, p.ground ? tag('grounded') : null));
  return h('article', { class: ['card', 'desk', doc.state !== 'issued' && 'finished'], 'data-safety': doc.id },
    h('div', { class: 'top' }, h('span', {}, `${doc.id} · ${DOCUMENT_LABEL[doc.kind] || doc.kind}`),
      h('span', { class: 'state' }, DESK_STATE_LABEL[doc.state] || doc.state)),
    doc.work ? h('div', { class: 'sub' }, doc.work) : null,
    h('ul', { class: 'points' }, points),
    h('p', { class: 'muted' },
      signed(doc, 'issued') ? `Issued ${signed(doc, 'issued')}` : null,
      doc.order ? ` · order ${doc.order}` : null),
    h('div', { class: 'row' }, action));
}

function plannedCard(po) {
  const risk = po.risk || {};
  return h('article', { class: 'card desk', 'data-planned': po.id },
    h('div', { class: 'top' }, h('span', {}, po.id),
      h('span', { class: 'state' }, DESK_STATE_LABEL[po.state] || po.state)),
    h('div', { class: 'sub' }, `${po.reason} · ${po.applicant}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Window'), h('dd', { 'data-window': '' }, `${hhmm(po.start)} – ${hhmm(po.end)}`),
      h('dt', {}, 'Devices'), h('dd', {}, (po.devices || []).join(', ')),
      po.ties?.length ? [h('dt', {}, 'Ties'), h('dd', {}, po.ties.join(', '))] : null,
      h('dt', {}, 'Customers'), h('dd', {}, String(risk.customers ?? '–')),
      po.order ? [h('dt', {}, 'Order'), h('dd', {}, po.order)] : null));
}
