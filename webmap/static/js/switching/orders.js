/*
 * The orders tab: a filter by state, the orders newest first, "New
 * order…" (editor.js) and "Order from outage" (POST /api/outages/<id>/order:
 * a draft of the outage's isolation and restoration plan). A click on an
 * order shows it (order.js); /switching#order/<id> links to one, and
 * /switching#outage/<id> (the dispatcher's outage panel) fills in the outage.
 */
import { call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { openEditor } from './editor.js';
import { keep } from './send.js';
import { CONFIG, hooks, may, newest, onRender, renderSoon, store, ui } from './state.js';
import { badge, human, toast } from './ui.js';

const FINISHED = new Set(['completed', 'cancelled']);

/** Shows order `id` (and says so in the URL). */
export function selectOrder(id) {
  ui.order = id;
  ui.editing = null;
  history.replaceState(null, '', `#order/${encodeURIComponent(id)}`);
  renderSoon();
}

async function fromOutage(input) {
  const outage = input.value.trim();
  const error = byId('from-outage-error');
  error.textContent = '';
  if (!outage) {
    error.textContent = 'Name an outage (OUT-…).';
    return;
  }
  try {
    const doc = keep(await call('POST', `/api/outages/${encodeURIComponent(outage)}/order`, {}));
    toast(`${doc.id} drafted from ${outage}'s plan: study and check it`, 'ok');
    selectOrder(doc.id);
  } catch (e) {
    error.textContent = e.message;
  }
}

/** Draws the toolbar once: the filter, "New order…", "Order from outage". */
export function wireOrders() {
  const filter = h('select', {
    id: 'order-filter', 'aria-label': 'Orders shown',
    onchange: (ev) => { ui.orderState = ev.target.value; renderSoon(); },
  },
  h('option', { value: '' }, 'All orders'),
  h('option', { value: 'open' }, 'Open (not completed or cancelled)'),
  CONFIG.orderStates.map((s) => h('option', { value: s }, human(s))));
  const outage = h('input', {
    type: 'text', id: 'from-outage', placeholder: 'OUT-000001', 'aria-label': 'Outage id', autocomplete: 'off',
  });
  fill(byId('orders-toolbar'),
    h('div', { class: 'row' }, filter,
      may.write ? h('button', { class: 'btn primary', id: 'new-order', onclick: () => openEditor() }, 'New order…') : null),
    may.fromOutage
      ? h('form', {
        class: 'row from-outage',
        onsubmit: (ev) => { ev.preventDefault(); fromOutage(outage); },
      }, outage, h('button', { type: 'submit', class: 'btn', id: 'from-outage-go', title:
        "A draft order from the outage's isolation and restoration plan: its opens, then its closes" },
      'Order from outage'))
      : null,
    h('div', { class: 'error', id: 'from-outage-error', role: 'alert' }));
}

/** Follows the URL: #order/<id> shows an order, #outage/<id> fills in "Order from outage". */
export function route() {
  const m = /^#(order|outage)\/(.+)$/.exec(location.hash);
  if (!m) return;
  const id = decodeURIComponent(m[2]);
  if (m[1] === 'order') {
    ui.order = id;
    ui.editing = null;
  } else if (byId('from-outage')) {
    byId('from-outage').value = id;
    byId('from-outage').focus();
  }
  renderSoon();
}

function shown(o) {
  if (!ui.orderState) return true;
  if (ui.orderState === 'open') return !FINISHED.has(o.state);
  return o.state === ui.orderState;
}

function item(o) {
  const done = o.steps.filter((s) => s.done).length;
  return h('div', {
    class: ['item', 'order-item', ui.order === o.id && 'selected'], 'data-id': o.id, tabindex: 0, role: 'button',
    onclick: () => selectOrder(o.id),
    onkeydown: (ev) => ev.key === 'Enter' && selectOrder(o.id),
  },
  h('header', {}, h('b', {}, o.id), badge(o.state), h('span', { class: 'muted' }, human(o.kind))),
  h('div', { class: 'title' }, o.title),
  h('div', { class: 'muted' }, `${done}/${o.steps.length} steps`,
    o.next_step ? ` · next: step ${o.next_step}` : '', ` · by ${o.created_by}`,
    o.outage ? ` · ${o.outage}` : '', o.planned ? ` · ${o.planned}` : ''));
}

let last = null;

function draw() {
  const orders = newest(store.orders);
  // What it counts, said: the list may show finished orders too.
  byId('count-orders').textContent = `${orders.filter((o) => !FINISHED.has(o.state)).length} open`;
  const list = orders.filter(shown);
  const sig = JSON.stringify([list, ui.order, store.loaded]);
  if (sig === last) return;
  last = sig;
  fill(byId('orders-list'), list.length ? list.map(item)
    : h('p', { class: 'empty' }, store.loaded ? 'No orders.' : 'Loading…'));
  hooks.ordersShown = list.map((o) => o.id);
}
onRender(draw);
