/*
 * Device symbols on the map, and traces from a device.
 *
 * Switches, breakers, reclosers, sectionalizers, fuses and transformers are
 * often zero-length edges: invisible as lines. GET /map/devices.geojson
 * ?bbox=&zoom= gives each device of the view as a point (at street zooms,
 * or in any view with few devices: see webmap/layers.py device_layer),
 * drawn as a symbol by kind (shape) and state: closed filled, open hollow,
 * tripped red; a dashed outline when the trip is presumed from an outage
 * (nothing reported the device open); a blue dot when SCADA reports it.
 * The symbols are fetched for the same box as the network, alongside each
 * request of it (a move out of the box, or a change of state).
 *
 * Symbols are drawn above outage markers and crews (map.js: the panes), and
 * where symbols overlap a click opens the popup of the device whose symbol's
 * middle is nearest, or, where symbols sit on one spot (a switch and a
 * transformer on one pole), a list to choose from. The device popup is plan.js's, which gets two more actions
 * from here: the upstream and downstream traces (GET /map/trace), drawn
 * over the network with a box that says what they found.
 */
import { call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { icon, map, planCanvas, tip } from './map.js';
import { networkRequested } from './network.js';
import { devicePopup, popupActions, popupNotes } from './plan.js';
import { hooks } from './state.js';
import { toast } from './toast.js';
import { viewParam } from './view.js';

const { L } = window;
const SVG = 'http://www.w3.org/2000/svg';
const SIZE = 18;

/** An SVG element (h() makes HTML elements). */
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** The outline of each kind, in an 18 x 18 box. */
const SHAPES = {
  breaker: () => svg('rect', { x: 3, y: 3, width: 12, height: 12 }),
  recloser: () => svg('rect', { x: 3, y: 3, width: 12, height: 12, rx: 4 }),
  sectionalizer: () => svg('path', { d: 'M9 2 L16 9 L9 16 L2 9 Z' }),
  switch: () => svg('circle', { cx: 9, cy: 9, r: 6 }),
  fuse: () => svg('rect', { x: 2, y: 6, width: 14, height: 6, rx: 1 }),
  transformer: () => svg('g', {}, svg('circle', { cx: 6.5, cy: 9, r: 4.5 }), svg('circle', { cx: 11.5, cy: 9, r: 4.5 })),
};
const LETTER = { breaker: 'B', recloser: 'R', sectionalizer: 'S' };

/** The symbol of a device: its shape by kind, filled by state, marked when telemetered. */
export function symbol(p) {
  const shape = (SHAPES[p.kind] || SHAPES.switch)();
  const letter = LETTER[p.kind] && p.state !== 'open'
    ? svg('text', { x: 9, y: 12.5, 'text-anchor': 'middle' }, LETTER[p.kind])
    : null;
  const presumed = p.state === 'tripped' && p.reported !== 'scada';
  return h('div', {
    class: ['oms-device', p.kind, p.state, presumed && 'presumed', !p.energized && 'dead'],
    'data-id': p.id,
    'data-kind': p.kind,
    'data-state': p.state,
  }, svg('svg', { width: SIZE, height: SIZE, viewBox: `0 0 ${SIZE} ${SIZE}` },
    shape, ...(letter ? [letter] : []),
    ...(p.scada ? [svg('circle', { class: 'scada', cx: 15.5, cy: 2.5, r: 2.5 })] : [])));
}

/** What a symbol's state means, in words. */
function stateText(p) {
  if (p.state === 'tripped') {
    if (p.reported === 'scada') return 'tripped (reported by SCADA)';
    return p.outage ? `presumed operated (outage ${p.outage}; not reported)` : 'tripped';
  }
  const how = p.reported === 'scada' ? 'reported by SCADA' : p.reported === 'operator' ? 'switched by an operator' : 'normal state';
  return `${p.state} (${how}${p.state !== p.normal ? `; normally ${p.normal}` : ''})`;
}

// ------------------------------------------------------------------ symbols
export const devicesLayer = L.layerGroup();
const markers = new Map();  // device id -> marker
const props = new Map();  // device id -> {p: its properties, ll: where drawn}
let info = { shown: false, devices: 0, drawn: 0 };
let seq = 0;

/** The device whose symbol's middle is nearest `point` (container px), within a symbol's size. */
function nearest(point) {
  let best = null;
  let bestD = SIZE;
  for (const found of props.values()) {
    const d = map.latLngToContainerPoint(found.ll).distanceTo(point);
    if (d < bestD) [best, bestD] = [found, d];
  }
  return best;
}

/** The devices drawn within `px` of `point` (container px): symbols stacked on one spot. */
function stacked(point, px) {
  return [...props.values()].filter((f) => map.latLngToContainerPoint(f.ll).distanceTo(point) < px);
}

/** A click on symbols stacked on one spot (a switch and a transformer on the
 *  same pole) asks which device is meant; a single one opens its popup. */
function open(near) {
  const here = stacked(map.latLngToContainerPoint(near.ll), 3);
  if (here.length < 2) {
    devicePopup(near.p, near.ll);
    return;
  }
  here.sort((a, b) => a.p.id.localeCompare(b.p.id));
  const list = h('div', { class: 'device-chooser' },
    h('b', {}, `${here.length} devices here`),
    ...here.map((f) => h('button', {
      class: 'btn', 'data-device': f.p.id, onclick: () => devicePopup(f.p, f.ll),
    }, `${f.p.id} · ${f.p.kind} · ${stateText(f.p)}`)));
  L.popup({ className: 'oms-chooser' }).setLatLng(near.ll).setContent(list).openOn(map);
}

function draw(doc) {
  devicesLayer.clearLayers();
  markers.clear();
  props.clear();
  for (const f of doc.features) {
    const p = f.properties;
    const ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
    const m = L.marker(ll, { icon: icon(symbol(p), [SIZE, SIZE]), pane: 'devices', keyboard: false });
    m.bindTooltip(tip(`${p.id} · ${p.kind} · ${stateText(p)}`), { direction: 'top', offset: [0, -8] });
    m.on('click', (ev) => open(nearest(ev.containerPoint) || { p, ll }));
    m.addTo(devicesLayer);
    markers.set(p.id, m);
    props.set(p.id, { p, ll });
  }
  info = { shown: doc.shown, devices: doc.devices, drawn: doc.drawn };
  byId('devices-info').textContent = doc.shown
    ? `${doc.drawn.toLocaleString()} of ${doc.devices.toLocaleString()} devices in view`
    : `${doc.devices.toLocaleString()} devices in view: symbols from zoom ${doc.from_zoom}`;
}

/** Loads the symbols of the box the network is requested for. */
async function loadDevices({ bbox, zoom }) {
  if (!map.hasLayer(devicesLayer)) return;
  const mine = ++seq;
  let doc;
  try {
    doc = await call('GET', `/map/devices.geojson?bbox=${bbox.map((v) => v.toFixed(6)).join(',')}&zoom=${zoom}${viewParam()}`);
  } catch (e) {
    toast(`Devices: ${e.message}`, 'error');
    return;
  }
  if (mine !== seq) return;  // a newer view was asked for meanwhile
  draw(doc);
  hooks.deviceLoads += 1;
}
networkRequested.push(loadDevices);
hooks.deviceLoads = 0;
hooks.deviceInfo = () => ({ ...info, ids: [...markers.keys()] });
hooks.devicePoint = (id) => props.get(id)?.ll ?? null;
hooks.deviceState = (id) => markers.get(id)?.getElement()?.querySelector('.oms-device')?.dataset.state ?? null;

// ------------------------------------------------------------------ traces
const TRACE_STYLE = {
  upstream: { color: '#3cc6c6', weight: 6, opacity: 0.9 },
  downstream: { color: '#d17cff', weight: 5, opacity: 0.85 },
};
export const traceLayer = L.geoJSON(null, {
  renderer: planCanvas,
  pane: 'plan',
  style: (f) => TRACE_STYLE[f.properties.role],
  onEachFeature: (f, layer) => layer.bindTooltip(tip(`${f.properties.id} · ${f.properties.kind}`)),
});

const traceBox = L.control({ position: 'topleft' });
traceBox.onAdd = () => {
  const div = h('div', { class: 'oms-trace-box', id: 'trace-box', hidden: true });
  L.DomEvent.disableClickPropagation(div);
  return div;
};
traceBox.addTo(map);

export function clearTrace() {
  traceLayer.clearLayers();
  byId('trace-box').hidden = true;
  hooks.trace = null;
}

function traceSummary(doc) {
  const t = doc.trace;
  if (doc.kind === 'upstream') {
    if (!t.source) return `${doc.device} has no supply: nothing upstream.`;
    return [`${doc.edges} edges up to `, h('b', {}, t.source),
      t.protective_devices.length ? `; protective devices: ${t.protective_devices.join(', ')}` : ''];
  }
  return [`${t.nodes.length} nodes, ${doc.edges} edges, `, h('b', {}, t.customers), ' customers below'];
}

/** A device with no supply now is traced as when its trips are closed again (webmap/layers.py). */
function traceNote(doc) {
  if (doc.energized) return null;
  const closed = doc.closed || [];
  return h('div', { class: 'dead', 'data-trace': 'deenergized' }, h('b', {}, 'De-energized now'),
    closed.length ? `: traced with ${closed.join(', ')} closed again (supply back)` : '');
}

/** Draws the `kind` ('upstream' | 'downstream') trace from device `id`. */
export async function showTrace(kind, id) {
  let doc;
  try {
    doc = await call('GET', `/map/trace?kind=${kind}&device=${encodeURIComponent(id)}`);
  } catch (e) {
    toast(`Trace: ${e.message}`, 'error');
    return;
  }
  traceLayer.clearLayers();
  traceLayer.addData(doc.layer);
  const box = byId('trace-box');
  fill(box,
    h('div', { class: 'head' }, h('b', {}, `${kind === 'upstream' ? 'Upstream' : 'Downstream'} of ${id}`),
      h('button', { class: 'btn icon', id: 'trace-close', title: 'Clear trace', onclick: clearTrace }, '✕')),
    h('div', {}, traceSummary(doc)),
    traceNote(doc),
    doc.layer.features.length < doc.edges ? h('div', { class: 'muted' }, `${doc.layer.features.length} drawn`) : null);
  box.hidden = false;
  const bounds = traceLayer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: map.getZoom() });
  hooks.trace = { kind, device: id, edges: doc.edges, drawn: doc.layer.features.length, energized: doc.energized };
}
hooks.trace = null;
hooks.showTrace = showTrace;

// The device popup (plan.js) also says what a symbol means and offers the traces.
popupNotes.push((p) => (p.normal ? h('div', { class: 'row oms-device-state' }, stateText(p)) : null));
popupActions.push((p, act) => [
  h('button', { class: 'btn', 'data-pop': 'upstream', onclick: act(() => showTrace('upstream', p.id)) }, 'Upstream'),
  h('button', { class: 'btn', 'data-pop': 'downstream', onclick: act(() => showTrace('downstream', p.id)) }, 'Downstream'),
]);

// ------------------------------------------------------------------ legend
const KIND_NAMES = ['breaker', 'recloser', 'sectionalizer', 'switch', 'fuse', 'transformer'];
const sample = (p, text) => h('span', { class: 'legend-device', title: text }, symbol({ energized: true, ...p }), text);
fill(byId('legend-devices'),
  h('div', { class: 'legend-kinds' }, KIND_NAMES.map((kind) =>
    h('span', { class: 'legend-device', title: kind }, symbol({ kind, state: 'closed', energized: true })))),
  h('div', {}, sample({ kind: 'switch', state: 'closed' }, 'closed'), sample({ kind: 'switch', state: 'open' }, 'open'),
    sample({ kind: 'breaker', state: 'tripped', reported: 'scada', scada: true }, 'tripped')),
  h('div', {}, sample({ kind: 'fuse', state: 'tripped', reported: null }, 'presumed'),
    sample({ kind: 'switch', state: 'closed', scada: true }, 'SCADA')),
  h('div', { class: 'info', id: 'devices-info' }));
