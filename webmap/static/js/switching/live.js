/*
 * Loading and keeping live: the orders, safety documents, planned outages
 * and field changes from the API, then every change from the server's
 * event stream (/stream: rows of kind order, safety, planned and field,
 * data = {ref, data} with the document as the API gives it). A dropped
 * stream reconnects from the last change seen (?since=) and reads the
 * lists again. Alert rows change only the storm banner (../storm.js). Also
 * the page's clock, and its start.
 */
import { call } from '../api.js';
import { labelClock, now } from '../clock.js';
import { $$, byId } from '../dom.js';
import { refreshStorm, stormAlert, watchStorm } from '../storm.js';
import { keepOpen } from '../stream.js';
import { applyField, loadField, wireField } from './field.js';
import { route, wireOrders } from './orders.js';
import './order.js';
import { wirePlanned } from './planned.js';
import { wireSafety } from './safety.js';
import { hooks, render, renderSoon, showTab, signIn, store } from './state.js';
import { toast } from './ui.js';

const KINDS = { order: 'orders', safety: 'safety', planned: 'planned' };

async function loadAll() {
  try {
    const [orders, safety, planned, crews] = await Promise.all([
      call('GET', '/api/switching/orders'), call('GET', '/api/switching/safety'),
      call('GET', '/api/planned'), call('GET', '/api/crews'), loadField(),
    ]);
    for (const [where, docs] of [['orders', orders], ['safety', safety], ['planned', planned]]) {
      store[where].clear();
      for (const d of docs) store[where].set(d.id, d);
    }
    store.crews = crews;
  } catch (e) {
    toast(`Loading: ${e.message}`, 'error');
  }
  store.loaded = true;
  hooks.loaded = true;
  renderSoon();
}

function setLive(state) {
  const el = byId('live');
  el.className = `live ${state}`;
  el.textContent = state === 'on' ? 'live' : state === 'off' ? 'reconnecting' : 'connecting';
}

function connect() {
  const es = new EventSource(`/stream${store.lastSeq !== null ? `?since=${store.lastSeq}` : ''}`);
  es.onopen = () => setLive('on');
  keepOpen(es, { lost: () => setLive('off'), signIn, reconnect: connect });
  es.addEventListener('hello', (e) => {
    setLive('on');
    store.lastSeq = Number(e.lastEventId || 0);
    loadAll();  // what came before the stream began, or while it was down
    refreshStorm();
  });
  es.addEventListener('alert', (e) => {
    store.lastSeq = Number(e.lastEventId || store.lastSeq);
    try { stormAlert(JSON.parse(e.data).data); } catch { /* not JSON: nothing to show */ }
  });
  for (const kind of [...Object.keys(KINDS), 'field']) {
    es.addEventListener(kind, (e) => {
      store.lastSeq = Number(e.lastEventId || store.lastSeq);
      hooks.events += 1;
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (!msg.data) return;
      if (kind === 'field') applyField(msg.data);
      else store[KINDS[kind]].set(msg.ref, msg.data);
      renderSoon();
    });
  }
}

function tick() {
  const d = new Date(now());
  byId('clock').textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Starts the page: the toolbars, the tabs, the URL's order or outage, the lists and the stream. */
export function start() {
  for (const b of $$('[role=tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  wireOrders();
  wireSafety();
  wirePlanned();
  wireField();
  window.addEventListener('hashchange', () => {
    showTab('orders');
    route();
  });
  route();
  labelClock(byId('clock'));
  tick();
  setInterval(tick, 1000);
  render();
  watchStorm();
  connect();
  hooks.ready = true;
  hooks.showTab = showTab;
  hooks.order = (id) => store.orders.get(id) ?? null;
  hooks.safety = (id) => store.safety.get(id) ?? null;
  hooks.planned = (id) => store.planned.get(id) ?? null;
}
