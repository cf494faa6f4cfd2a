/*
 * The switching desk on the map: the field changes in place (tags, grounds,
 * jumpers and cuts) and the devices of the switching orders under way; and
 * the switch between the network as operated and as built.
 *
 * GET /map/field.geojson gives one point per device (webmap/layers.py
 * field_layer): a row of symbols beside the device, one per change in
 * place (a tag coloured by its kind, a ground, a jumper, a cut), and a ring
 * around the device while an issued order still has steps on it (solid
 * when its next step is one of them). It is read again with the network
 * (a move, a change of state) and when the stream reports an order or a
 * field change (live.js: scheduleField).
 *
 * "As built" draws the network and the device symbols in their normal
 * states (/map/...?view=normal: view.js) and hides the field changes,
 * which belong to the network as operated; a label on the map says so, and
 * that the outages and calls, greyed, are the live ones.
 */
import { call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { fmtTime } from './format.js';
import { icon, map, tip } from './map.js';
import { loadNetwork, networkRequested } from './network.js';
import { hooks } from './state.js';
import { toast } from './toast.js';
import { mapView } from './view.js';

const { L } = window;
const SVG = 'http://www.w3.org/2000/svg';
const CELL = 14;

for (const [pane, z] of [['orderRings', 632], ['fieldChanges', 637]]) map.createPane(pane).style.zIndex = z;
map.getPane('orderRings').style.pointerEvents = 'none';

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** Each kind's drawing in a 14 x 14 box. */
const DRAW = {
  tag: () => [svg('path', { d: 'M2 4 L8 4 L12 7 L8 10 L2 10 Z' }), svg('circle', { class: 'hole', cx: 4.5, cy: 7, r: 1 })],
  ground: () => [svg('path', { d: 'M7 1 V6 M2 6 H12 M4 9 H10 M6 12 H8' })],
  jumper: () => [svg('path', { d: 'M2 11 C2 2, 12 2, 12 11' }), svg('circle', { cx: 2, cy: 11, r: 1.5 }), svg('circle', { cx: 12, cy: 11, r: 1.5 })],
  cut: () => [svg('path', { d: 'M1 7 H5 M9 7 H13 M4 12 L6 2 M8 12 L10 2' })],
};

/** The symbol of one field change (its kind; a tag also by its tag kind). */
export function changeSymbol(c) {
  return h('span', {
    class: ['oms-field', c.kind, c.tag && `tag-${c.tag}`], 'data-kind': c.kind, 'data-id': c.id,
  }, svg('svg', { width: CELL, height: CELL, viewBox: `0 0 ${CELL} ${CELL}` }, ...(DRAW[c.kind] || DRAW.tag)()));
}

function changeText(c) {
  const what = c.kind === 'tag' ? `${c.tag || 'clearance'} tag` : c.kind;
  const why = [c.document, c.order && `${c.order}${c.step ? ` step ${c.step}` : ''}`].filter(Boolean).join(', ');
  return `${what} ${c.id}${why ? ` (${why})` : ''} placed by ${c.placed_by} at ${fmtTime(c.placed_at)}`;
}

function orderText(o) {
  const steps = o.steps.length === 1 ? `step ${o.steps[0]}` : `steps ${o.steps.join(', ')}`;
  return `${o.id} ${o.title ? `“${o.title}” ` : ''}(${o.state.replace('_', ' ')}): ${steps}${o.next ? ', next' : ''}`;
}

export const fieldLayer = L.layerGroup();
const drawn = new Map();  // device -> its properties
let seq = 0;

function draw(doc) {
  fieldLayer.clearLayers();
  drawn.clear();
  for (const f of doc.features) {
    const p = f.properties;
    const ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
    const lines = [...p.changes.map(changeText), ...p.orders.map(orderText)];
    if (p.orders.length) {
      const next = p.orders.some((o) => o.next);
      L.marker(ll, {
        pane: 'orderRings', keyboard: false, interactive: false,
        icon: icon(h('div', { class: ['oms-order-ring', next && 'next'], 'data-device': p.device }), [30, 30]),
      }).addTo(fieldLayer);
    }
    if (p.changes.length) {
      const width = p.changes.length * (CELL + 2) + 4;
      const row = h('div', { class: 'oms-field-row', 'data-device': p.device }, p.changes.map(changeSymbol));
      L.marker(ll, {
        pane: 'fieldChanges', keyboard: false,
        // Up and to the right of the device, never over its symbol (which is clicked to switch it).
        icon: L.divIcon({ className: 'oms-icon', iconSize: [width, CELL + 4], iconAnchor: [-10, CELL + 14], html: row }),
      }).bindTooltip(tip(h('b', {}, p.device), ...lines.map((l) => h('div', {}, l))), { direction: 'top' })
        .addTo(fieldLayer);
    }
    drawn.set(p.device, p);
  }
}

/** Reads the layer again (unless it is hidden, or the map shows the network as built). */
export async function loadField() {
  const mine = ++seq;
  if (mapView.asBuilt || !map.hasLayer(fieldLayer)) {
    fieldLayer.clearLayers();
    drawn.clear();
    return;
  }
  let doc;
  try {
    doc = await call('GET', '/map/field.geojson');
  } catch (e) {
    toast(`Field changes: ${e.message}`, 'error');
    return;
  }
  if (mine !== seq) return;
  draw(doc);
  hooks.fieldLoads += 1;
}

let timer = null;
/** A reload soon (the stream reported an order or a field change). */
export function scheduleField() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    loadField();
  }, 150);
}
networkRequested.push(scheduleField);
map.on('overlayadd', (ev) => ev.layer === fieldLayer && loadField());

// ------------------------------------------------------------ as built / as operated
function setView(asBuilt) {
  if (mapView.asBuilt === asBuilt) return;
  mapView.asBuilt = asBuilt;
  for (const b of document.querySelectorAll('#map-view button')) {
    b.classList.toggle('active', (b.dataset.view === 'normal') === asBuilt);
    b.setAttribute('aria-pressed', String((b.dataset.view === 'normal') === asBuilt));
  }
  byId('map').classList.toggle('as-built', asBuilt);
  byId('as-built-label').hidden = !asBuilt;
  loadNetwork(true);  // the devices and the field changes follow the network's request
}

const viewBox = L.control({ position: 'topleft' });
viewBox.onAdd = () => {
  const button = (view, label, title) => h('button', {
    type: 'button', class: ['btn', view === 'operated' && 'active'], 'data-view': view, title,
    'aria-pressed': String(view === 'operated'), onclick: () => setView(view === 'normal'),
  }, label);
  const div = h('div', { class: 'oms-map-view', id: 'map-view', role: 'group', 'aria-label': 'Network shown' },
    button('operated', 'As operated', 'The network now: devices as reported, jumpers and cuts in the field, outages'),
    button('normal', 'As built', 'The network in its normal states (no switching, no field changes, no outages)'));
  L.DomEvent.disableClickPropagation(div);
  return div;
};
viewBox.addTo(map);

// Said on the map while it shows the network as built; the outages and calls stay (greyed: map.css), live.
map.getContainer().append(h('div', { class: 'oms-as-built-label', id: 'as-built-label', role: 'status', hidden: true },
  h('b', {}, 'As built'), ': normal states, not the network now',
  h('div', { class: 'sub' }, 'Outages and calls (greyed) are the live ones')));

// ------------------------------------------------------------ legend
const sample = (c, text) => h('span', { class: 'legend-device', title: text }, changeSymbol(c), text);
fill(byId('legend-field'),
  h('div', {}, sample({ kind: 'tag', tag: 'clearance' }, 'tag'), sample({ kind: 'ground' }, 'ground'),
    sample({ kind: 'jumper' }, 'jumper'), sample({ kind: 'cut' }, 'cut')),
  h('div', { title: 'Around a device of a switching order issued or under way, with steps still to do on it' },
    h('span', { class: 'legend-ring' }, h('span', { class: 'oms-order-ring' })), 'order to do ',
    h('span', { class: 'legend-ring' }, h('span', { class: 'oms-order-ring next' })), 'its next step'));

hooks.fieldLoads = 0;
hooks.fieldInfo = () => Array.from(drawn.values(), (p) => ({
  device: p.device, changes: p.changes.map((c) => c.kind), orders: p.orders.map((o) => o.id),
}));
hooks.mapView = () => (mapView.asBuilt ? 'normal' : 'operated');
hooks.setMapView = (view) => setView(view === 'normal');
