/*
 * The store, kept live: the open jobs, crews and alerts from the API, then
 * every change from the server's event stream (/stream, Server-Sent Events:
 * outage, job, crew, alert, alert_ack and device events, data = {ref, data};
 * order and field events redraw the switching desk's layer: field.js; an
 * outage, job or damage event the damage reports: damage.js; a critical
 * (register) or contact (a call made) event the calls owed: calls.js; an
 * alert of kind storm_mode changes the storm banner: ../storm.js).
 *
 * Events that arrive while the lists load are held and applied after them.
 * A dropped stream reconnects from the last event seen (?since=).
 */
import { call } from '../api.js';
import { byId } from '../dom.js';
import { refreshStorm, stormAlert } from '../storm.js';
import { keepOpen } from '../stream.js';
import { DONE_JOB, OPEN_OUTAGE, signIn } from './config.js';
import { addAlert, applyAck, loadAlerts, loadSummary } from './alarms.js';
import { alertText } from './cards.js';
import { scheduleCallbacks } from './calls.js';
import { loadDamage, scheduleDamage } from './damage.js';
import { scheduleField } from './field.js';
import { loadCalls, loadOutages, placeCrew, scheduleCalls, scheduleOutages } from './markers.js';
import { scheduleNetwork } from './network.js';
import { outagePlaces } from './filters.js';
import { debounce } from './format.js';
import { hooks, renderSoon, store } from './state.js';
import { toast } from './toast.js';

const KINDS = [
  'outage', 'job', 'crew', 'alert', 'alert_ack', 'device', 'order', 'field', 'damage', 'critical', 'contact',
];

/** Each shown outage's zone and crews (GET /api/outages?open=1), for the outages filter; at most every 3 s. */
async function loadPlaces() {
  try {
    const found = await call('GET', '/api/outages?open=1');
    outagePlaces.clear();
    for (const o of found) outagePlaces.set(o.id, { zone: o.zone, crews: o.crews });
    renderSoon();
  } catch {
    // The filter still finds outages by their open jobs' zones and crews.
  }
}
const placesSoon = debounce(loadPlaces, 3000);

function applyOutage(ref, o) {
  if (!o || !OPEN_OUTAGE.has(o.state)) store.outages.delete(ref);
  else store.outages.set(ref, o);
}
function applyJob(ref, j) {
  if (!j || DONE_JOB.has(j.state)) store.jobs.delete(ref);
  else store.jobs.set(ref, j);
}
function applyCrew(ref, c) {
  store.crews.set(ref, c);
  placeCrew(c);
}
function applyAlert(a) {
  addAlert(a);
  stormAlert(a);
  if (a.level === 'breach') toast(alertText(a), 'breach', 9000);
}

/** Applies one stream event (or holds it while the lists load). */
function handle(kind, msg) {
  if (store.buffer) {
    store.buffer.push({ kind, msg });
    return;
  }
  if (kind === 'outage' || kind === 'job') {
    placesSoon();
    scheduleDamage();  // a report moves its job's estimate; a closed outage takes its reports off
  }
  if (kind === 'outage') {
    applyOutage(msg.ref, msg.data);
    scheduleOutages();
    scheduleNetwork();
    scheduleCalls();
  } else if (kind === 'job') {
    applyJob(msg.ref, msg.data);
  } else if (kind === 'crew') {
    applyCrew(msg.ref, msg.data);
  } else if (kind === 'alert') {
    applyAlert(msg.data);
  } else if (kind === 'alert_ack') {
    applyAck(msg.data);
  } else if (kind === 'device') {
    scheduleNetwork();
  } else if (kind === 'order' || kind === 'field') {
    scheduleField();
  } else if (kind === 'damage') {
    scheduleDamage();
  } else if (kind === 'critical' || kind === 'contact') {
    scheduleCallbacks();  // the register or a call changed the calls owed
  }
  renderSoon();
}

async function loadAll() {
  store.buffer = [];
  try {
    const [jobs, crews] = await Promise.all([
      call('GET', '/api/jobs?open=1'), call('GET', '/api/crews'), loadAlerts(), loadSummary(),
    ]);
    store.jobs.clear();
    for (const j of jobs) applyJob(j.id, j);
    for (const c of crews) applyCrew(c.id, c);
  } catch (err) {
    toast(`Loading: ${err.message}`, 'error');
  }
  const buffered = store.buffer;
  store.buffer = null;
  store.loaded = true;
  hooks.loaded = true;
  for (const ev of buffered) handle(ev.kind, ev.msg);
  loadOutages();
  loadCalls();
  loadDamage();
  loadPlaces();
  renderSoon();
}

function setLive(state) {
  const el = byId('live');
  el.className = `live ${state}`;
  el.textContent = state === 'on' ? 'live' : state === 'off' ? 'reconnecting' : 'connecting';
}

/** Opens the stream; the first hello loads the lists, a later one refreshes the map. */
export function connect() {
  const es = new EventSource(`/stream${store.lastSeq !== null ? `?since=${store.lastSeq}` : ''}`);
  es.onopen = () => setLive('on');
  keepOpen(es, { lost: () => setLive('off'), signIn, reconnect: connect });
  es.addEventListener('hello', (e) => {
    setLive('on');
    const first = store.lastSeq === null;
    store.lastSeq = Number(e.lastEventId || 0);
    if (first) {
      loadAll();
    } else {
      scheduleNetwork();
      scheduleOutages();
      scheduleDamage();
      refreshStorm();
    }
  });
  for (const kind of KINDS) {
    es.addEventListener(kind, (e) => {
      store.lastSeq = Number(e.lastEventId || store.lastSeq);
      hooks.lastEventAt = performance.now();
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      handle(kind, msg);
    });
  }
}

hooks.outageIds = () => Array.from(store.outages.keys()).sort();
hooks.job = (id) => store.jobs.get(id) || null;
hooks.jobs = () => Array.from(store.jobs.values());
