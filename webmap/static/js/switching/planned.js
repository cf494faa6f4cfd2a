/*
 * The planned outages tab: requests with their risk check, and the
 * decisions on them.
 *
 * A request names the devices opened to isolate the work (and ties closed
 * to feed others), its window, its crews and how many days ahead customers
 * are told. The engine checks its risk when it is requested (and again on
 * approval): customers cut off, critical ones among them, and concerns
 * (other planned outages or open outages in the same area, feeders over
 * capacity, short notice). Someone other than its requester approves it
 * (Approve is disabled for the requester, the reason in its title);
 * it may be rejected or cancelled (with a reason); once approved, "Write
 * order…" starts the switching order that carries it out. The buttons are the
 * actions this user's role may take (CONFIG.plannedActions) that follow
 * its state.
 */
import { call } from '../api.js';
import { now } from '../clock.js';
import { $$, byId, fill, h } from '../dom.js';
import { reasonDialog } from './dialog.js';
import { openEditor } from './editor.js';
import { act, keep } from './send.js';
import { CONFIG, crewIds, may, newest, onRender, renderSoon, showTab, store, ui } from './state.js';
import { badge, human, labelled, localInput, refusalBox, table, toast, when, words } from './ui.js';

const FROM = { approve: ['requested'], reject: ['requested'], cancel: ['requested', 'approved'] };
const LABEL = { approve: 'Approve', reject: 'Reject…', cancel: 'Cancel…' };
const OPEN = new Set(['requested', 'approved', 'in_progress']);
const path = (id, action) => `/api/planned/${encodeURIComponent(id)}/${action}`;

function decide(p, a) {
  if (a === 'approve') {
    act(p.id, path(p.id, a));
    return;
  }
  reasonDialog(`${a === 'reject' ? 'Reject' : 'Cancel'} ${p.id}`, a === 'reject' ? 'Reject' : 'Cancel it', async (reason) => {
    keep(await call('POST', path(p.id, a), reason ? { reason } : {}));
    ui.refusals.delete(p.id);
  }, true);
}

function risk(r) {
  if (!r) return null;
  const critical = r.critical || [];
  return h('div', { class: 'risk' },
    h('div', {}, h('b', { class: 'num' }, r.customers ?? 0), ' customers',
      critical.length ? h('span', { class: 'critical-lost' }, ` · ${critical.length} critical`) : ''),
    r.concerns?.length
      ? h('ul', { class: 'concerns' }, r.concerns.map((c) => h('li', { class: 'warn' }, c)))
      : h('div', { class: 'muted' }, 'no concerns'));
}

/** A new order for an approved planned outage: its ties closed first, then its devices opened. */
function writeOrder(p) {
  showTab('orders');
  openEditor({
    planned: p.id,
    title: `${p.reason} (${p.id})`,
    given: [
      ...p.ties.map((device) => ({ action: 'close', device })),
      ...p.devices.map((device) => ({ action: 'open', device })),
    ],
  });
}

function row(p) {
  // Its requester may not approve it (the two-person rule): said, not offered.
  const mine = p.requested_by === CONFIG.user?.username;
  const buttons = CONFIG.plannedActions.filter((a) => FROM[a]?.includes(p.state)).map((a) => h('button', {
    class: ['btn', a === 'approve' ? 'primary' : 'danger'], 'data-act': a, onclick: () => decide(p, a),
    disabled: a === 'approve' && mine,
    title: a === 'approve' && mine ? `You requested ${p.id}; another person approves it (two-person rule)` : null,
  }, LABEL[a]));
  if (may.write && p.state === 'approved' && !p.order) {
    buttons.unshift(h('button', {
      class: 'btn primary', 'data-act': 'order', title: 'Write the switching order that carries it out',
      onclick: () => writeOrder(p),
    }, 'Write order…'));
  }
  const refusal = ui.refusals.get(p.id);
  return [
    h('tr', { 'data-id': p.id },
      h('td', {}, h('b', {}, p.id), h('div', { class: 'muted' }, `by ${p.requested_by}`)),
      h('td', {}, p.applicant, h('div', { class: 'muted' }, p.reason)),
      h('td', {}, p.devices.join(', '), p.ties?.length ? h('div', { class: 'muted' }, `ties ${p.ties.join(', ')}`) : null),
      h('td', {}, `${when(p.start)} – ${when(p.end)}`, h('div', { class: 'muted' }, `notice ${p.notice_days} d`)),
      h('td', {}, (p.crews || []).join(', ') || h('span', { class: 'muted' }, '—')),
      h('td', {}, risk(p.risk)),
      h('td', {}, badge(p.state), p.order ? h('div', { class: 'muted' }, p.order) : null),
      h('td', { class: 'acts' }, buttons)),
    refusal ? h('tr', { class: 'refusal-row', 'data-for': p.id }, h('td', { colspan: 8 }, refusalBox(refusal))) : null,
  ];
}

function openForm() {
  const hour = 3600000;
  const start = Math.ceil((now() + (CONFIG.noticeDays + 1) * 24 * hour) / hour) * hour;
  const form = h('form', {
    class: 'editor', id: 'planned-form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const at = (id) => {
        const v = byId(id).value;
        return v ? new Date(v).toISOString() : null;
      };
      const body = {
        applicant: byId('po-applicant').value.trim(),
        reason: byId('po-reason').value.trim(),
        devices: words(byId('po-devices').value),
        ties: words(byId('po-ties').value),
        start: at('po-start'),
        end: at('po-end'),
        crews: $$('.po-crew:checked').map((c) => c.value),
        notice_days: Number(byId('po-notice').value),
      };
      try {
        const doc = keep(await call('POST', '/api/planned', body));
        const concerns = doc.risk?.concerns?.length ? `; ${doc.risk.concerns.length} concerns` : '';
        toast(`${doc.id} requested: ${doc.risk?.customers ?? 0} customers cut off${concerns}`, concerns ? 'warning' : 'ok');
        fill(byId('planned-form-box'));
      } catch (e) {
        byId('po-error').textContent = e.message;
      }
    },
  },
  h('h2', {}, 'Request a planned outage'),
  h('div', { class: 'row' },
    labelled('Applicant', h('input', { type: 'text', id: 'po-applicant', placeholder: 'e.g. Lines maintenance' })),
    labelled('Reason', h('input', { type: 'text', id: 'po-reason', placeholder: 'e.g. replace poles' }), 'wide')),
  h('div', { class: 'row' },
    labelled('Devices opened', h('input', { type: 'text', id: 'po-devices', placeholder: 'e.g. SW2 F12' }), 'wide'),
    labelled('Ties closed (optional)', h('input', { type: 'text', id: 'po-ties', placeholder: 'e.g. TIE1' }))),
  h('div', { class: 'row' },
    labelled('Start', h('input', { type: 'datetime-local', id: 'po-start', value: localInput(start) })),
    labelled('End', h('input', { type: 'datetime-local', id: 'po-end', value: localInput(start + 4 * hour) })),
    labelled('Notice (days)', h('input', { type: 'number', id: 'po-notice', min: 0, max: 365, step: 'any', value: CONFIG.noticeDays }))),
  h('fieldset', { class: 'crews' }, h('legend', {}, 'Crews'), crewIds().map((c) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', class: 'po-crew', value: c }), ` ${c}`))),
  h('div', { class: 'actions' },
    h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'btn', onclick: () => fill(byId('planned-form-box')) }, 'Discard'),
    h('button', { type: 'submit', class: 'btn primary', id: 'po-request' }, 'Request (with risk check)')),
  h('div', { class: 'error', id: 'po-error', role: 'alert' }));
  fill(byId('planned-form-box'), form);
}

export function wirePlanned() {
  fill(byId('planned-toolbar'), h('div', { class: 'row' },
    may.plan ? h('button', { class: 'btn primary', id: 'new-planned', onclick: openForm }, 'Request a planned outage…') : null,
    h('label', { class: 'check' }, h('input', {
      type: 'checkbox', id: 'planned-open', checked: ui.plannedOpen,
      onchange: (ev) => { ui.plannedOpen = ev.target.checked; renderSoon(); },
    }), ` Only open (${['requested', 'approved', 'in_progress'].map(human).join(', ')})`)));
}

let last = null;

function draw() {
  const all = newest(store.planned);
  byId('count-planned').textContent = all.filter((p) => OPEN.has(p.state)).length;
  const shown = all.filter((p) => !ui.plannedOpen || OPEN.has(p.state));
  const sig = JSON.stringify([shown, shown.map((p) => ui.refusals.get(p.id)), store.loaded]);
  if (sig === last) return;
  last = sig;
  fill(byId('planned-list'), shown.length
    ? table('planned', ['Planned', 'Applicant / reason', 'Devices', 'Window', 'Crews', 'Risk', 'State', ''], shown.map(row))
    : h('p', { class: 'empty' }, store.loaded ? 'No planned outages.' : 'Loading…'));
}
onRender(draw);
