/*
 * The outage panel: one outage in full, at a URL of its own (/#outage/<id>).
 *
 * The hash is the route: opening an outage (from the search box, or the id
 * on its card) sets it, so the panel can be linked to, reloaded, and left
 * with the browser's Back button; Escape or × closes it. The data comes
 * from GET /api/outages/<id>/detail (detail-sections.js draws it) and is
 * read again when the live stream changes the outage or one of its jobs
 * (a damage report changes its job's estimate or skills).
 * Its buttons are the outage's actions (outage-actions.js), its plan, and
 * the switching page (/switching#outage/<id>: a draft order from the plan).
 */
import { call } from '../api.js';
import { afterPress, byId, fill, h } from '../dom.js';
import { audit, calls, customers, damage, etrs, jobs, summary, timeline } from './detail-sections.js';
import { human } from './format.js';
import { map } from './map.js';
import { OUTAGE_ACTIONS, outageActions } from './outage-actions.js';
import { showPlan } from './plan.js';
import { hooks, onRender, store } from './state.js';

const { L } = window;
const ROUTE = /^#outage\/(.+)$/;
const RELOAD_MS = 800;

const shown = { id: null, data: null, outage: null, jobs: '', openedHere: false, timer: null, asked: 0 };
hooks.detail = () => ({ id: shown.id, loaded: Boolean(shown.data), loads: shown.asked });

/** Opens the panel of outage `id` (a new entry in the browser's history). */
export function openOutage(id) {
  const hash = `#outage/${encodeURIComponent(id)}`;
  if (location.hash === hash) return;
  shown.openedHere = true;
  location.hash = hash;
}

function panel() {
  return byId('detail');
}

/** Closes the panel: back where the dispatcher came from, or to the bare map. */
function close() {
  if (shown.openedHere) {
    shown.openedHere = false;
    history.back();
  } else {
    history.pushState(null, '', location.pathname + location.search);
    route();
  }
}

function route() {
  const m = ROUTE.exec(location.hash);
  const id = m ? decodeURIComponent(m[1]) : null;
  if (id === null) {
    shown.id = null;
    shown.data = null;
    panel().hidden = true;
    return;
  }
  if (id !== shown.id) {
    shown.id = id;
    shown.data = null;
    fill(panel(), h('div', { class: 'd-loading' }, `Loading ${id}…`));
    panel().hidden = false;
  }
  load(id, true);
}

async function load(id, fly) {
  const n = ++shown.asked;
  let d;
  try {
    d = await call('GET', `/api/outages/${encodeURIComponent(id)}/detail`);
  } catch (e) {
    if (shown.id === id) fill(panel(), frame(id, null, h('p', { class: 'd-none' }, e.message)));
    return;
  }
  if (shown.id !== id || n !== shown.asked) return;  // another outage, or a later read
  const first = !shown.data;
  shown.data = d;
  remember(id);
  afterPress(() => {  // not under a button being pressed
    if (shown.id !== id || n !== shown.asked) return;
    const scroll = panel().querySelector('.d-body')?.scrollTop ?? 0;
    fill(panel(), frame(id, d, [
      summary(d), customers(d), calls(d), jobs(d), damage(d), etrs(d), timeline(d), audit(d),
    ]));
    if (!first) panel().querySelector('.d-body').scrollTop = scroll;
    if (fly && first) flyTo(d);
  });
}

function flyTo(d) {
  const at = store.outagePos.get(d.outage.id)
    || (d.jobs[0] && L.latLng(d.jobs[0].lat, d.jobs[0].lon));
  if (at) map.flyTo(at, Math.max(map.getZoom(), 16), { duration: 0.6 });
}

function frame(id, d, body) {
  const o = d?.outage;
  return [
    h('header', { class: 'd-head' },
      h('h2', { id: 'detail-title' }, id),
      o ? h('span', { class: ['badge', o.state] }, o.state) : null,
      o?.hazard ? h('span', { class: 'badge hazard' }, 'hazard') : null,
      o ? h('span', { class: 'muted' }, human(o.kind)) : null,
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn d-close', title: 'Close (Esc)', 'aria-label': 'Close', onclick: close }, '×')),
    o ? h('div', { class: 'd-actions' }, buttons(o)) : null,
    h('div', { class: 'd-body' }, body),
  ];
}

function buttons(o) {
  const act = (name, label, primary, fn) => h('button', {
    class: ['btn', primary && 'primary'], 'data-act': name, onclick: () => fn(o),
  }, label);
  const list = outageActions(o).map(([name, label, primary]) => act(name, label, primary, OUTAGE_ACTIONS[name]));
  if (o.kind === 'network' && o.device && ['predicted', 'confirmed'].includes(o.state)) {
    // The plan's box is in the side list, under this panel: the panel steps aside for it.
    const plan = async () => (await showPlan({ outage: o.id })) && close();
    list.splice(1, 0, act('plan', 'Plan', false, plan));
  }
  if (o.kind === 'network' && o.device && o.state !== 'closed') {
    // The switching page writes the draft from the outage's plan, when asked there.
    list.push(act('order', 'Switching order…', false,
      () => window.open(`/switching#outage/${encodeURIComponent(o.id)}`, '_blank', 'noopener')));
  }
  list.push(act('locate', 'Show on map', false, () => shown.data && flyTo(shown.data)));
  return list;
}

/** What the live copy of the outage and its jobs was when the panel last read them. */
function remember(id) {
  shown.outage = store.outages.get(id) ?? null;
  shown.jobs = jobsKey(id);
}

function jobsKey(id) {
  return Array.from(store.jobs.values()).filter((j) => j.outage === id)
    .map((j) => `${j.id}:${j.state}:${j.crew}:${j.etr}:${Object.values(j.stamps).join(',')}`).join('|');
}

/** On each redraw: read the panel again when the stream changed its outage or jobs. */
function watch() {
  const id = shown.id;
  if (!id || !shown.data || shown.timer) return;
  if (store.outages.get(id) === shown.outage && jobsKey(id) === shown.jobs) return;
  remember(id);
  shown.timer = setTimeout(() => {
    shown.timer = null;
    if (shown.id === id) load(id, false);
  }, RELOAD_MS);
}

/** Follows the URL's hash, closes on Escape, and keeps the panel live. */
export function wireDetail() {
  hooks.openOutage = openOutage;  // a damage symbol on the map opens its outage (damage.js)
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || !shown.id || byId('dialog')?.open) return;
    if (ev.target.closest?.('#search')) return;  // the search box's own Escape
    close();
  });
  onRender(watch);
  route();
}
