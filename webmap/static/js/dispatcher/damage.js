/*
 * Damage found in the field on the map: one symbol per report, drawn by the
 * kind of asset damaged (GLYPH: oms/engine/damage.py ASSETS), where it was
 * found. GET /map/damage.geojson gives the reports of the open outages and
 * those under no outage of the last day (webmap/layers.py damage_layer). It
 * is read again when the stream changes an outage or a job (a report moves
 * its job's estimate: live.js calls scheduleDamage) and every minute (a
 * report that changes no job reaches no stream). Clicking a symbol opens
 * its outage's panel, which lists the reports with their photos
 * (detail-sections.js).
 */
import { call } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { fmtTime, human } from './format.js';
import { icon, map, tip } from './map.js';
import { hooks } from './state.js';
import { toast } from './toast.js';

const { L } = window;
const SVG = 'http://www.w3.org/2000/svg';
const POLL_MS = 60000;
const COLOR = '#9a4d00';

map.createPane('damage').style.zIndex = 633;  // over the crews (a crew at the damage), under the devices

/** Each asset kind's drawing (stroked paths, and circles [cx, cy, r]) in a 16 x 16 box. */
export const GLYPH = {
  pole: { d: 'M8 2 V14 M4 4 H12' },
  conductor: { d: 'M1 4 H6 L9 13 M11 4 H15' },
  transformer: { d: '', circles: [[6, 8, 3.5], [10, 8, 3.5]] },
  crossarm: { d: 'M8 3 V14 M2 5 H14 M3 5 V8 M13 5 V8' },
  insulator: { d: 'M8 2 V14 M5 5 H11 M4 8 H12 M5 11 H11' },
  switch: { d: 'M1 11 H5 L12 4 M11 11 H15' },
  tree_on_line: { d: 'M8 2 L3 10 H13 Z M8 10 V14 M1 12 H15' },
  service_drop: { d: 'M1 3 Q9 3 10 9 M7 9 H13 V14 H7 Z' },
  other: { d: 'M8 2 V10 M8 13 V14' },
};

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

/** The symbol of a damaged asset (a white drawing on a rounded brown square). */
export function damageSymbol(asset, size = 20) {
  const g = GLYPH[asset] || GLYPH.other;
  const drawing = svg('svg', {
    width: size - 6, height: size - 6, viewBox: '0 0 16 16',
    fill: 'none', stroke: '#fff', 'stroke-width': 1.8, 'stroke-linecap': 'round', 'stroke-linejoin': 'round',
  });
  if (g.d) drawing.append(svg('path', { d: g.d }));
  for (const [cx, cy, r] of g.circles || []) drawing.append(svg('circle', { cx, cy, r }));
  return h('span', {
    class: 'oms-damage', 'data-asset': asset, title: human(asset),
    style: {
      display: 'inline-flex', alignItems: 'center', justifyContent: 'center', boxSizing: 'border-box',
      width: `${size}px`, height: `${size}px`, borderRadius: '4px', background: COLOR,
      border: '1.5px solid #fff', boxShadow: '0 1px 3px #0008', verticalAlign: 'middle',
    },
  }, drawing);
}

export const damageLayer = L.layerGroup();
let drawn = [];
let seq = 0;

function reportText(p) {
  const who = p.crew ? `crew ${p.crew}` : p.user || '';
  return [
    h('b', {}, human(p.asset)), ` ${fmtTime(p.time)}${who ? ` · ${who}` : ''}`,
    h('div', {}, `repair ${Math.round(p.repair_minutes)} min${p.skills?.length ? ` · needs ${p.skills.join(', ')}` : ''}`),
    p.photos?.length ? h('div', {}, `${p.photos.length} photo${p.photos.length > 1 ? 's' : ''}`) : null,
    p.note ? h('div', {}, p.note) : null,
    h('div', {}, p.outage ? `${p.outage}: click for its panel` : 'under no outage'),
  ];
}

function draw(doc) {
  damageLayer.clearLayers();
  drawn = doc.features.map((f) => f.properties);
  for (const f of doc.features) {
    const p = f.properties;
    const ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
    const m = L.marker(ll, { pane: 'damage', icon: icon(damageSymbol(p.asset, 22), [22, 22]), riseOnHover: true });
    m.bindTooltip(tip(...reportText(p)), { direction: 'top' });
    if (p.outage) m.on('click', () => hooks.openOutage?.(p.outage));
    m.addTo(damageLayer);
  }
}

/** Reads the layer again (unless it is hidden). */
export async function loadDamage() {
  const mine = ++seq;
  if (!map.hasLayer(damageLayer)) return;
  let doc;
  try {
    doc = await call('GET', '/map/damage.geojson');
  } catch (e) {
    toast(`Damage reports: ${e.message}`, 'error');
    return;
  }
  if (mine !== seq) return;
  draw(doc);
  hooks.damageLoads += 1;
}

let timer = null;
/** A reload soon (the stream changed an outage or a job). */
export function scheduleDamage() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    loadDamage();
  }, 300);
}
map.on('overlayadd', (ev) => ev.layer === damageLayer && loadDamage());
setInterval(scheduleDamage, POLL_MS);

// ------------------------------------------------------------ legend
fill(byId('legend-damage'), h('div', { class: 'legend-kinds', title: 'Damage reported from the field, by asset' },
  Object.keys(GLYPH).map((asset) => h('span', { class: 'legend-device', title: human(asset) }, damageSymbol(asset, 16)))),
h('div', {}, 'damage reported (by asset)'));

hooks.damageLoads = 0;
hooks.damageInfo = () => drawn.map((p) => ({ id: p.id, asset: p.asset, outage: p.outage, photos: p.photos }));
