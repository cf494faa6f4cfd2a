/*
 * Switching plans, and the popup of a device on the map.
 *
 * GET /map/plan?device= or ?outage= gives the isolation and restoration
 * plan: a layer (the isolated section, the devices to open and to close)
 * drawn over the network with numbered steps, and the steps in #plan-box,
 * each with its switching button for those who may switch.
 *
 * A step whose device is already in the planned state is done: ticked,
 * with what is known of it (tripped, reported by SCADA, switched from this
 * page: by you, when), and offers no switching. The steps' devices are
 * read from their symbols (GET /map/devices.geojson over the plan's
 * bounds) when the plan is shown, after a switching from the page, and
 * after live changes (at most every 2 s).
 */
import { call } from '../api.js';
import { now } from '../clock.js';
import { byId, fill, h } from '../dom.js';
import { PLAN_STYLE, canSwitch } from './config.js';
import { fmtTime } from './format.js';
import { icon, map, planCanvas, tip } from './map.js';
import { hooks, onRender, store, ui } from './state.js';
import { switchDialog } from './switching.js';
import { toast } from './toast.js';

const { L } = window;

export const planLayer = L.geoJSON(null, {
  renderer: planCanvas,
  pane: 'plan',
  style: (f) => PLAN_STYLE[f.properties.role] || PLAN_STYLE.isolated,
  onEachFeature: (f, layer) => {
    const p = f.properties;
    layer.bindTooltip(tip(`${p.id} · ${p.kind} · ${p.role}`));
    layer.on('click', (ev) => devicePopup(p, ev.latlng));
  },
});
export const planMarkers = L.layerGroup();
/**
 * More for a device's popup, from other modules (devices.js: the traces and
 * what its symbol says): functions (p, act) -> element or null, where
 * act(fn) closes the popup, then runs fn.
 */
export const popupNotes = [];
export const popupActions = [];

/** The popup of a line or a device symbol clicked on the map: switch it, trace it, or show its plan. */
export function devicePopup(p, latlng) {
  if (p.simplified) {
    map.setView(latlng, Math.min(map.getZoom() + 2, 22));
    return;
  }
  const isOpen = (p.operated ?? p.state) === 'open';  // a symbol's state may be 'tripped'
  const act = (fn) => () => {
    map.closePopup();
    fn();
  };
  const content = h('div', {},
    h('h4', {}, p.id),
    h('div', { class: 'row' }, p.kind, p.name ? ` · ${p.name}` : '', ' · ', h('b', {}, p.state)),
    popupNotes.map((note) => note(p, act)),
    h('div', { class: 'acts' },
      p.operable && canSwitch
        ? h('button', {
          class: ['btn', isOpen ? 'primary' : 'danger'],
          'data-pop': 'switch',
          'data-state': isOpen ? 'closed' : 'open',
          onclick: act(() => switchDialog(p.id, isOpen ? 'closed' : 'open', p.kind, { onDone: refreshSteps })),
        }, `${isOpen ? 'Close' : 'Open'} ${p.id}`)
        : null,
      popupActions.map((action) => action(p, act)),
      h('button', { class: 'btn', 'data-pop': 'plan', onclick: act(() => showPlan({ device: p.id })) },
        'Isolation & restoration plan')));
  L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(content).openOn(map);
}

export function clearPlan() {
  ui.plan = null;
  planLayer.clearLayers();
  planMarkers.clearLayers();
  byId('plan-box').hidden = true;
}

/** Shows the plan for {device} or {outage}; whether it could. */
export async function showPlan(params) {
  const query = params.outage ? `outage=${encodeURIComponent(params.outage)}` : `device=${encodeURIComponent(params.device)}`;
  let doc;
  try {
    doc = await call('GET', `/map/plan?${query}`);
  } catch (e) {
    toast(`Plan: ${e.message}`, 'error');
    return false;
  }
  ui.plan = doc;
  planLayer.clearLayers();
  planMarkers.clearLayers();
  planLayer.addData(doc.layer);
  const steps = doc.restore?.steps ||
    (doc.isolate ? doc.isolate.open.map((d) => ({ action: 'open', device: d, why: 'isolate' })) : []);
  const markers = drawSteps(doc.layer.features, steps);
  renderBox(doc, steps);
  const bounds = planLayer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.3), { maxZoom: 18 });
  hooks.planSteps = steps.length;
  hooks.planMarkers = markers;
  await refreshSteps();
  return true;
}

// ------------------------------------------------------- steps done
/** Switchings done from this page: device -> {state, at (server time, ms)}. */
const doneHere = new Map();
let checking = null;
let seenSeq = null;

/** Whether a device (its symbol's properties) is in the state a step plans. */
function inPlannedState(p, planned) {
  if (!p) return false;
  // A trip only presumed from an outage left it closed as far as anyone reported.
  return p.operated === planned && !(planned === 'closed' && p.state === 'tripped');
}

/** What is known of a step done. */
function doneNote(device, p, planned) {
  const here = doneHere.get(device);
  if (here && here.state === planned) return `done by you at ${fmtTime(new Date(here.at).toISOString())}`;
  if (p.state === 'tripped') return 'tripped';
  if (p.reported === 'scada') return 'as SCADA reports';
  if (p.reported === 'operator') return 'switched';
  return p.normal === planned ? 'its normal state' : 'done';
}

/** Reads the steps' devices and marks the steps done or to do. */
export async function refreshSteps() {
  const plan = ui.plan;
  const box = byId('plan-box');
  if (!plan || box.hidden) return;
  const bounds = planLayer.getBounds();
  if (!bounds.isValid()) return;
  const b = bounds.pad(0.05);
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(',');
  let doc;
  try {
    doc = await call('GET', `/map/devices.geojson?bbox=${bbox}&zoom=22`);
  } catch (e) {
    toast(`Plan steps: ${e.message}`, 'error');
    return;
  }
  if (ui.plan !== plan) return; // another plan meanwhile
  const devices = new Map(doc.features.map((f) => [f.properties.id, f.properties]));
  let done = 0;
  for (const li of box.querySelectorAll('li[data-device]')) {
    const { device, planned } = li.dataset;
    const p = devices.get(device);
    const isDone = inPlannedState(p, planned);
    done += isDone;
    const note = isDone ? doneNote(device, p, planned) : '';
    if (li.classList.contains('done') === isDone && li.dataset.note === note) continue;
    li.classList.toggle('done', isDone);
    li.dataset.note = note;
    fill(li.querySelector('.status'), isDone ? ['✓ ', note] : '');
    const button = li.querySelector('button');
    if (button) button.hidden = isDone;
  }
  hooks.planDone = done;
}

// After live changes (another desk's switching, a trip): at most every 2 s.
onRender(() => {
  if (!ui.plan || store.lastSeq === seenSeq || checking) return;
  seenSeq = store.lastSeq;
  checking = setTimeout(async () => {
    await refreshSteps();
    checking = null;
  }, 2000);
});

/** Numbered markers on the devices to open and close; returns how many. */
function drawSteps(features, steps) {
  let n = 0;
  for (const f of features) {
    const role = f.properties.role;
    if (role !== 'open' && role !== 'close') continue;
    const c = f.geometry.coordinates;
    const mid = c.length === 2 ? [(c[0][0] + c[1][0]) / 2, (c[0][1] + c[1][1]) / 2] : c[Math.floor(c.length / 2)];
    const idx = steps.findIndex((s) => s.device === f.properties.id);
    L.marker([mid[1], mid[0]], {
      pane: 'steps',
      keyboard: false,
      icon: icon(h('div', { class: ['oms-step', role] }, idx >= 0 ? idx + 1 : ''), [18, 18]),
    }).bindTooltip(tip(`${role} ${f.properties.id}`)).addTo(planMarkers);
    n += 1;
  }
  return n;
}

function stepItem(s) {
  const state = s.action === 'open' ? 'open' : 'closed';
  const onDone = () => {
    doneHere.set(s.device, { state, at: now() });
    refreshSteps();
  };
  return h('li', { 'data-device': s.device, 'data-planned': state },
    h('b', {}, `${s.action} ${s.device}`), ' ', h('span', { class: 'why' }, s.why),
    ' ', h('span', { class: 'status', style: { color: '#6fcf97' } }),
    canSwitch
      ? h('button', {
        class: 'btn',
        'data-step-device': s.device,
        'data-step-state': state,
        onclick: () => switchDialog(s.device, state, undefined, { onDone }),
      }, s.action === 'open' ? 'Open…' : 'Close…')
      : null);
}

function renderBox(doc, steps) {
  const box = byId('plan-box');
  const restore = doc.restore;
  fill(box,
    h('h3', {},
      `Switching plan ${doc.outage ? `for ${doc.outage} · ` : ''}fault on `, doc.faulted,
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn icon', id: 'plan-close', title: 'Clear plan', onclick: clearPlan }, '✕')),
    doc.error
      ? h('p', { class: 'error' }, doc.error)
      : [
        h('ol', {}, steps.map(stepItem)),
        restore
          ? h('div', { class: 'meta' },
            'Restores ', h('b', {}, restore.restored_customers), ' customers; ',
            h('b', {}, restore.unrestored_customers), ' stay out until the repair.',
            restore.tripped ? ` Tripped: ${restore.tripped}.` : '')
          : null,
      ]);
  box.hidden = false;
}
