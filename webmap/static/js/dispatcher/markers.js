/*
 * Outages, calls and crews on the map.
 *
 * Outages: GET /map/outages.geojson, redrawn on every outage change.
 * Calls: GET /map/calls.geojson in increments (the calls after the last one
 * seen); every few minutes the whole window is fetched again, which drops
 * the calls that left it. Crews: placed from the store (API and stream).
 *
 * Active outages are in a pane above the restored ones, so a restored
 * marker never hides an active one at the same place. At street zooms each
 * crew's label sits above its position, tied to it by a leader line (so it
 * never covers the device the crew works on); labels that would overlap
 * (crews at one depot) are stacked beside it (declutter.js). Below street
 * zoom a crew is a dot, crews at one place one dot with their count, the
 * names on hover. Laid out again after every zoom and move of a crew.
 */
import { call } from '../api.js';
import { h } from '../dom.js';
import { ACTIVE, CREW_COLORS, CREW_COLOR_UNKNOWN } from './config.js';
import { stackLabels } from './declutter.js';
import { debounce, fmtTime, human, plural } from './format.js';
import { icon, map, tip } from './map.js';
import { select } from './selection.js';
import { hooks, renderSoon, store, ui } from './state.js';

const { L } = window;
const FULL_CALLS_MS = 5 * 60000;

export const outagesLayer = L.layerGroup();
export const crewsLayer = L.layerGroup();
export const callsLayer = L.markerClusterGroup({
  chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 45,
  disableClusteringAtZoom: 19, spiderfyOnMaxZoom: true,
  iconCreateFunction: (cluster) => {
    const n = cluster.getChildCount();
    const s = n < 10 ? 26 : n < 100 ? 32 : n < 1000 ? 38 : 46;
    return icon(h('div', { class: 'oms-cluster', style: { width: `${s}px`, height: `${s}px` } }, n), [s, s]);
  },
});

// ------------------------------------------------------------------ outages
const outageMarkers = new Map();
/** Active outages above restored ones (map.js: the panes). */
const outagePane = (o) => (ACTIVE.has(o.state) ? 'outages' : 'outagesRestored');

function outageIcon(p, selected) {
  const n = p.customers_out || 0;
  const size = Math.round(Math.min(44, 20 + 5 * Math.log10(1 + n) * 2));
  const cls = ['oms-outage', p.state, !p.device && 'single', selected && 'selected'];
  const label = n >= 1000 ? `${Math.round(n / 1000)}k` : n;
  return icon(h('div', { class: cls, style: { width: `${size}px`, height: `${size}px` } }, label), [size, size]);
}

export async function loadOutages() {
  let doc;
  try { doc = await call('GET', '/map/outages.geojson'); } catch { return; }
  outagesLayer.clearLayers();
  outageMarkers.clear();
  store.outagePos.clear();
  for (const f of doc.features) {
    const p = f.properties;
    const ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
    store.outagePos.set(p.id, ll);
    const m = L.marker(ll, { icon: outageIcon(p, ui.selected === `o:${p.id}`), pane: outagePane(p), riseOnHover: true });
    m.bindTooltip(tip(`${p.id} · ${p.device || p.customer} · ${plural(p.customers_out, 'customer')} out`));
    m.on('click', () => select(`o:${p.id}`, false));
    m.addTo(outagesLayer);
    outageMarkers.set(p.id, m);
    // The map's copy is as fresh as the panel's: keep whichever is newer.
    const known = store.outages.get(p.id);
    if (!known || (p.located_at || '') >= (known.located_at || '')) store.outages.set(p.id, p);
  }
  renderSoon();
}
export const scheduleOutages = debounce(loadOutages, 100);

/** The outage markers follow the store (customers out, state, selection). */
export function refreshOutageIcons() {
  for (const [id, m] of outageMarkers) {
    const o = store.outages.get(id);
    if (!o) continue;
    m.setIcon(outageIcon(o, ui.selected === `o:${id}`));
    if (m.options.pane !== outagePane(o)) {  // restored (or active again): to its pane
      m.remove();
      m.options.pane = outagePane(o);
      m.addTo(outagesLayer);
    }
  }
}

// ------------------------------------------------------------------ calls
let callsSeq = null;
let callsFull = 0;
let callCount = 0;

function callMarker(f) {
  const p = f.properties;
  const cls = ['oms-call', p.hazard && 'hazard', p.power === 'on' && 'on'];
  const m = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]],
    { icon: icon(h('div', { class: cls }), [10, 10]), keyboard: false });
  m.bindTooltip(tip(
    `Call ${fmtTime(p.time)} · ${p.customer || ''}`,
    p.hazard ? [' · ', h('b', {}, p.hazard)] : null,
    p.power === 'on' ? ' · power back' : '',
    p.note ? [h('br'), p.note] : null));
  return m;
}

export async function loadCalls() {
  const full = callsSeq === null || Date.now() - callsFull > FULL_CALLS_MS;
  let doc;
  try {
    doc = await call('GET', `/map/calls.geojson${full ? '' : `?after=${callsSeq}`}`);
  } catch { return; }
  const markers = doc.features.map(callMarker);
  if (full) {
    callsLayer.clearLayers();
    callCount = 0;
    callsFull = Date.now();
  }
  callsLayer.addLayers(markers);
  callCount += markers.length;
  if (doc.last_seq !== null && doc.last_seq !== undefined) callsSeq = Math.max(callsSeq || 0, doc.last_seq);
  else if (callsSeq === null) callsSeq = 0;
  hooks.callCount = callCount;
}
export const scheduleCalls = debounce(loadCalls, 500);

// ------------------------------------------------------------------ crews
const crewMarkers = new Map();
const crewData = new Map();  // crew id -> the crew as last placed (its tooltips)

function crewIcon(c) {
  const color = CREW_COLORS[c.status] || CREW_COLOR_UNKNOWN;
  // A spot of no size at the crew's position: the label centred on it (or
  // stacked beside it by declutterCrews), and the leader line back to it.
  return icon(h('div', { class: 'oms-crew-spot' },
    h('div', {
      class: ['oms-crew', c.stale && 'stale'],
      'data-label': c.id,
      style: { borderColor: color },
    }, h('i', { style: { background: color } }), c.id)), [0, 0]);
}

function crewTip(c) {
  return tip(
    `${c.id} · ${c.name || ''}`, h('br'), human(c.status),
    c.jobs?.length ? ` · ${c.jobs.join(', ')}` : '',
    c.gps_time ? [h('br'), `GPS ${fmtTime(c.gps_time)}${c.stale ? ' (stale)' : ''}`] : [h('br'), 'at base']);
}

/** Puts crew `c` at its last position (a crew without one is not drawn). */
export function placeCrew(c) {
  if (c.lon === null || c.lon === undefined || c.lat === null || c.lat === undefined) return;
  crewData.set(c.id, c);
  let m = crewMarkers.get(c.id);
  if (!m) {
    m = L.marker([c.lat, c.lon], { icon: crewIcon(c), pane: 'crews', keyboard: false });
    m.bindTooltip(crewTip(c), { direction: 'top', offset: [0, -8] });
    m.on('click', () => select(`c:${c.id}`, false));
    m.addTo(crewsLayer);
    crewMarkers.set(c.id, m);
  } else {
    m.setLatLng([c.lat, c.lon]);
    m.setIcon(crewIcon(c));
    m.setTooltipContent(crewTip(c));
  }
  declutterSoon();
}

// ------------------------------------------------------------ crew labels
const SVG = 'http://www.w3.org/2000/svg';

function leader(dx, dy) {
  const line = document.createElementNS(SVG, 'svg');
  line.setAttribute('class', 'oms-leader');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', `M0 0 L${dx} ${dy}`);
  const dot = document.createElementNS(SVG, 'circle');
  dot.setAttribute('r', '3');
  line.append(path, dot);
  return line;
}

/** Zoom from which crews are drawn as labels (street zooms, as the device symbols); dots below. */
export const CREW_LABEL_ZOOM = 15;
const LIFT = 12;     // px between a label and the position it is tied to (a device symbol there stays clear)
const GROUP_PX = 14; // px within which crew dots share one dot with a count

/** Street zooms: each label above its position, those that would overlap stacked (see declutter.js). */
function layoutLabels(entries) {
  const items = entries.map(({ id, p, label }) => ({
    id, x: p.x, y: p.y - (label.offsetHeight / 2 + LIFT), w: label.offsetWidth, h: label.offsetHeight,
  }));
  const widths = new Map(items.map((it) => [it.id, it.w]));
  const lifted = new Map(items.map((it, i) => [it.id, it.y - entries[i].p.y]));
  const layout = stackLabels(items);
  for (const { id, label } of entries) {
    const { dx, dy: dyStack, leader: stacked } = layout.get(id);
    const dy = dyStack + lifted.get(id);
    label.style.transform = `translate(calc(-50% + ${dx}px), calc(-50% + ${dy}px))`;
    label.parentElement.querySelector('.oms-leader')?.remove();
    label.before(leader(stacked ? dx - widths.get(id) / 2 : dx, stacked ? dy : dy + label.offsetHeight / 2));
  }
  return { stacked: [...layout.values()].filter((o) => o.leader).length, groups: entries.length };
}

/** Below street zoom: a dot per crew, crews at one place one dot with their count; names on hover. */
function layoutDots(entries) {
  const groups = [];
  for (const e of [...entries].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const near = groups.find((g) => Math.hypot(g[0].p.x - e.p.x, g[0].p.y - e.p.y) < GROUP_PX);
    if (near) near.push(e); else groups.push([e]);
  }
  for (const members of groups) {
    members.forEach(({ id, label, marker }, k) => {
      label.style.transform = '';
      label.parentElement.querySelector('.oms-leader')?.remove();
      label.classList.toggle('grouped', k > 0);
      if (k === 0 && members.length > 1) label.dataset.count = members.length;
      else delete label.dataset.count;
      const crews = members.map((m) => crewData.get(m.id));
      marker.setTooltipContent(k === 0 && members.length > 1 ? groupTip(crews) : crewTip(crewData.get(id)));
    });
  }
  return { stacked: 0, groups: groups.length };
}

function groupTip(crews) {
  return tip(`${crews.length} crews here`, ...crews.flatMap((c) => [h('br'), `${c.id} · ${human(c.status)}`]));
}

/** Lays the crews out for the zoom: labels at street zooms, dots below. */
function declutterCrews() {
  if (!map.hasLayer(crewsLayer)) return;
  const far = map.getZoom() < CREW_LABEL_ZOOM;
  map.getPane('crews').classList.toggle('oms-far', far);
  const entries = [];
  for (const [id, marker] of crewMarkers) {
    const label = marker.getElement()?.querySelector('.oms-crew');
    if (!label) continue;
    if (!far) {
      label.classList.remove('grouped');
      delete label.dataset.count;
      marker.setTooltipContent(crewTip(crewData.get(id)));
    }
    entries.push({ id, label, marker, p: map.latLngToLayerPoint(marker.getLatLng()) });
  }
  const done = far ? layoutDots(entries) : layoutLabels(entries);
  hooks.crewLabels = { zoom: map.getZoom(), far, ...done };
}
// Once after a batch of changes (crews placed in one loop, a zoom), before the page is painted.
let pending = false;
function declutterSoon() {
  if (pending) return;
  pending = true;
  queueMicrotask(() => {
    pending = false;
    declutterCrews();
  });
}
map.on('zoomend', declutterSoon);
crewsLayer.on('add', declutterSoon);
