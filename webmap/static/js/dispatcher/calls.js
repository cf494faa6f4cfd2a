/*
 * The Calls tab: the calls the control room owes customers, in the order to
 * make them (GET /api/callbacks, oms/storage/callbacks.py), critical
 * customers first: welfare checks (critical customers out and not reached
 * since), restored critical customers (to confirm supply is back), then
 * callbacks (customers who called about an outage now restored). Each kind
 * is a group with its count; each call shows the customer, its reason (life
 * support highlighted), its outage (a link that opens the outage panel),
 * how long since, the numbers to ring (the register's contacts first, tel:
 * and mailto: links), the attempts that reached nobody and the last one's
 * note.
 *
 * "Reached" and "No answer" (with the note typed on the card) record the
 * call (POST /api/customers/<customer>/contacts: a customer_contact event,
 * the dispatcher's) and read the queue again: one answered leaves it, one
 * unanswered stays, counted. "Edit register entry" opens the register
 * dialog (register.js).
 *
 * The queue is read when the stream changes an outage (at most one read
 * every GAP_MS, changes meanwhile folded into it), after a call or a
 * register edit from this page, and every REFRESH_MS: another desk's call
 * reaches no stream. The tab sits beside the four lists of panel.js; its
 * section is shown while its tab button is the active one.
 */
import { call } from '../api.js';
import { $, $$, byId, h } from '../dom.js';
import { age } from './cards.js';
import { canContact } from './config.js';
import { openOutage } from './detail.js';
import { fmtTime, human, plural } from './format.js';
import { updateList } from './keyed.js';
import { contactLine, onRegisterSaved, registerDialog } from './register.js';
import { hooks, onRender, store } from './state.js';
import { toast } from './toast.js';

const REFRESH_MS = 60000;
const GAP_MS = 3000;
/** Who may record a call: the dispatcher (customer_contact in oms/authority.py), as the outage actions. */
const canCall = canContact;
/** The kinds in the order to call them, with their group's title and what they are. */
const KINDS = [
  ['welfare', 'Welfare checks', 'Critical customers out of supply, not reached since they lost it'],
  ['restored_critical', 'Restored critical customers', 'Supply back: confirm it and stand the emergency plan down'],
  ['callback', 'Callbacks', 'Customers who called about an outage that is now restored'],
];
const SINCE = { welfare: 'out since', restored_critical: 'back since', callback: 'restored' };

const state = { doc: null, inflight: false, again: false, timer: null, last: -Infinity, seen: '' };
const groups = {};  // kind -> {count, cards}
hooks.callbackLoads = 0;
hooks.callsRecorded = 0;
hooks.callbacks = () => state.doc;

const keyOf = (c) => `${c.kind}|${c.customer}|${c.outage}`;

/** The queue from the server, drawn; a read asked for while one is out runs right after it. */
export async function loadCallbacks() {
  if (state.inflight) {
    state.again = true;
    return;
  }
  state.inflight = true;
  state.last = performance.now();
  try {
    state.doc = await call('GET', '/api/callbacks');
    hooks.callbackLoads += 1;
    draw();
  } catch (e) {
    toast(`Calls: ${e.message}`, 'error');
  } finally {
    state.inflight = false;
  }
  if (state.again) {
    state.again = false;
    loadCallbacks();
  }
}

/** A read soon: at most one every GAP_MS, however many changes ask for it. */
export function scheduleCallbacks() {
  if (state.timer) return;
  const wait = Math.max(200, GAP_MS - (performance.now() - state.last));
  state.timer = setTimeout(() => {
    state.timer = null;
    loadCallbacks();
  }, wait);
}

/** On each redraw: read the queue again when the stream changed what an outage holds. */
function watchOutages() {
  if (!store.loaded) return;
  const parts = [];
  for (const [id, o] of store.outages) {
    parts.push(`${id}|${o.state}|${o.device}|${o.restored}|${o.customers_out}|${o.critical_out}`);
  }
  const seen = parts.join(';');
  if (seen === state.seen) return;
  state.seen = seen;
  scheduleCallbacks();
}

function numbers(c) {
  if (!c.call.length) return h('div', { class: 'call-numbers muted' }, 'No number on file');
  return h('ul', { class: 'call-numbers' }, c.call.map((n) => h('li', {}, contactLine(n))));
}

function attempts(c) {
  if (!c.attempts) return null;
  const last = c.last_attempt;
  return h('div', { class: 'call-tried', 'data-attempts': c.attempts },
    `${plural(c.attempts, 'attempt')} without an answer`,
    last ? ` · last ${fmtTime(last.time)} by ${last.user}` : '',
    last?.note ? [': ', h('q', { class: 'call-last-note' }, last.note)] : null);
}

function callCard(c) {
  const life = c.critical === 'life_support';
  const act = (name, label, attrs = {}) => h('button', { type: 'button', class: 'btn', 'data-call-act': name, ...attrs }, label);
  // A card, as the other lists', without their data keys: panel.js's card clicks leave it alone.
  return h('article', {
    class: ['card call', `kind-${c.kind}`, c.critical && 'critical', life && 'life'],
    'data-call': keyOf(c), 'data-customer': c.customer, 'data-call-outage': c.outage, 'data-kind': c.kind,
  },
  h('header', {},
    h('span', { class: 'id' }, c.name || c.customer),
    c.name ? h('span', { class: 'muted' }, c.customer) : null,
    c.critical ? h('span', { class: ['badge critical', life && 'life'], title: 'On the critical-customer register' },
      human(c.critical)) : null,
    h('span', { class: 'call-age', title: `${SINCE[c.kind]} ${fmtTime(c.since)}` }, age(c.since))),
  h('div', { class: 'meta' },
    `${SINCE[c.kind]} ${fmtTime(c.since)} · `,
    h('a', { href: `#outage/${encodeURIComponent(c.outage)}`, class: 'call-outage', 'data-call-act': 'outage' }, c.outage),
    c.address ? ` · ${c.address}` : ''),
  c.emergency_plan ? h('div', { class: 'call-plan' }, h('b', {}, 'Emergency plan: '), c.emergency_plan) : null,
  numbers(c),
  attempts(c),
  h('footer', {},
    canCall ? [
      h('input', { type: 'text', class: 'call-note', placeholder: 'Note (optional)', 'aria-label': `Note on the call to ${c.customer}` }),
      act('reached', 'Reached', { class: 'btn primary', title: 'The customer or a contact answered' }),
      act('unanswered', 'No answer', { title: 'Nobody answered: the call stays in the queue, counted' }),
    ] : null,
    c.critical ? act('register', 'Edit register entry', { title: 'Reason, emergency plan, contacts, note' }) : null));
}

function draw() {
  const doc = state.doc;
  let total = 0;
  for (const [kind] of KINDS) {
    const calls = doc.calls.filter((c) => c.kind === kind);
    const n = doc.counts[kind] ?? calls.length;
    total += n;
    const g = groups[kind];
    const text = calls.length < n ? `${calls.length} of ${n}` : String(n);
    if (g.count.textContent !== text) g.count.textContent = text;
    g.box.classList.toggle('owed', n > 0);
    updateList(g.cards, calls, { key: keyOf, sig: (c) => JSON.stringify(c), build: callCard, empty: 'None owed.' });
  }
  const badge = byId('count-calls');
  badge.textContent = String(total);
  badge.classList.toggle('alarm', Boolean(doc.counts.welfare));
  badge.title = KINDS.map(([kind, title]) => `${title}: ${doc.counts[kind] ?? 0}`).join(', ');
}

/** Records a call made from the card: reached or not, with the note typed on it. */
async function record(card, reached) {
  const customer = card.dataset.customer;
  const note = $('.call-note', card);
  const body = { reached, outage: card.dataset.callOutage };
  if (note.value.trim()) body.note = note.value.trim();
  const buttons = $$('button', card);
  for (const b of buttons) b.disabled = true;
  try {
    await call('POST', `/api/customers/${encodeURIComponent(customer)}/contacts`, body);
    note.value = '';
    hooks.callsRecorded += 1;
    toast(`${customer}: ${reached ? 'reached' : 'no answer, stays in the queue'}`, 'ok');
  } catch (e) {
    toast(`${customer}: ${e.message}`, 'error');
  } finally {
    for (const b of buttons) b.disabled = false;
  }
  await loadCallbacks();
}

function onClick(ev) {
  const button = ev.target.closest('[data-call-act]');
  const card = button?.closest('[data-call]');
  if (!card) return;
  const act = button.dataset.callAct;
  if (act === 'outage') {
    ev.preventDefault();
    openOutage(card.dataset.callOutage);
  } else if (act === 'reached' || act === 'unanswered') {
    record(card, act === 'reached');
  } else if (act === 'register') {
    registerDialog(card.dataset.customer, $('.id', card).textContent);
  }
}

/** Builds the tab's groups, shows its section with its tab, and starts reading the queue. */
export function wireCalls() {
  const section = byId('tab-calls');
  section.replaceChildren(...KINDS.map(([kind, title, what]) => {
    const count = h('span', { class: 'count' }, '–');
    const cards = h('div', { class: 'cards', id: `calls-${kind}` });
    const box = h('section', { class: 'call-group', 'data-group': kind },
      h('h3', { title: what }, title, ' ', count), cards);
    groups[kind] = { box, count, cards };
    return box;
  }));
  section.addEventListener('click', onClick);
  // selection.js switches the four lists and marks the active button: this section follows its button.
  const button = $('.tabs button[data-tab="calls"]');
  const follow = () => { section.hidden = !button.classList.contains('active'); };
  new MutationObserver(follow).observe(button, { attributes: true, attributeFilter: ['class'] });
  follow();
  onRender(watchOutages);
  onRegisterSaved(loadCallbacks);
  loadCallbacks();
  setInterval(scheduleCallbacks, REFRESH_MS);
}
