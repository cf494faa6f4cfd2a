/*
 * The Leaflet map: view, panes, canvas renderers, tiles, scale and legend.
 * The layers on it are the other modules' (basemap, network, devices,
 * markers, plan).
 *
 * Panes, bottom to top: the basemap (roads and zones, 150) under the tiles
 * of OMS_TILE_URL (200), zone names (390), the network (overlay pane, 400),
 * plans and traces (450), restored outages (615) under active ones (620),
 * so a restored marker never hides an active one at the same place, crews
 * (630), damage reports (633: damage.js, clickable where a crew works),
 * device symbols (635: drawn at street zooms, small, and clickable
 * where a crew works or an outage is marked), plan steps (640).
 */
import { h, htmlText } from '../dom.js';
import { CONFIG } from './config.js';
import { hooks } from './state.js';

const { L } = window;

export const map = L.map('map', { preferCanvas: true, zoomControl: true, minZoom: 2, maxZoom: 22 });
hooks.map = map;

const bounds = CONFIG.bounds;
if (bounds) map.fitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], { padding: [24, 24], maxZoom: 18 });
else map.setView([0, 0], 2);

const PANES = [
  ['basemap', 150], ['zoneLabels', 390], ['plan', 450],
  ['outagesRestored', 615], ['outages', 620], ['crews', 630], ['devices', 635], ['steps', 640],
];
for (const [pane, z] of PANES) map.createPane(pane).style.zIndex = z;
map.getPane('zoneLabels').style.pointerEvents = 'none';
/** The canvas the network is drawn on, and the one of the switching plan (below the markers). */
export const canvas = L.canvas({ padding: 0.3, tolerance: 6 });
export const planCanvas = L.canvas({ pane: 'plan', padding: 0.3, tolerance: 6 });
/** The canvas of the basemap (roads and zones), under everything. */
export const basemapCanvas = L.canvas({ pane: 'basemap', padding: 0.3 });

/** The utility's own tile server (OMS_TILE_URL), over the basemap; null without one. */
export const tilesLayer = CONFIG.tiles
  // Leaflet reads an attribution as HTML: the configured text is shown as text.
  ? L.tileLayer(CONFIG.tiles, { maxZoom: 22, attribution: htmlText(CONFIG.tilesAttribution) }).addTo(map)
  : null;
L.control.scale({ imperial: false }).addTo(map);
map.attributionControl.setPrefix('Leaflet · open-oms');

/** A marker's icon: our own element, styled by dispatcher.css (.oms-icon ...). */
export function icon(element, size) {
  return L.divIcon({ className: 'oms-icon', iconSize: size, html: element });
}

/** Tooltip content built when the tooltip opens (Leaflet reads strings as HTML). */
export function tip(...children) {
  return () => h('span', {}, ...children);
}

const line = (color, label, extra = {}) =>
  h('div', {}, h('span', { class: 'sw', style: { borderColor: color, ...extra } }), label);
const dot = (color, extra = {}) => h('span', { class: 'dot', style: { background: color, ...extra } });

const legend = L.control({ position: 'bottomleft' });
legend.onAdd = () => {
  const div = h('div', { class: 'legend' },
    line('#35b27c', 'energized'),
    line('#ff9f1a', 'de-energized'),
    line('#ff3355', 'faulted section', { borderTopWidth: '5px' }),
    h('div', {}, h('span', { class: 'sw open', style: { borderColor: '#e8e8e8' } }), 'open device'),
    h('div', { id: 'legend-devices' }),  // the device symbols: filled by devices.js, which draws them
    h('div', { id: 'legend-field' }),  // field changes and order rings: filled by field.js, which draws them
    h('div', { id: 'legend-damage' }),  // damage reports by asset: filled by damage.js, which draws them
    h('div', {}, dot('#d3263f'), 'outage (customers out)'),
    h('div', {}, dot('#4ea1ff'), 'call ', dot('#ff3355', { marginLeft: '6px' }), 'hazard'),
    h('div', { class: 'info', id: 'net-info' }));
  L.DomEvent.disableClickPropagation(div);
  return div;
};
legend.addTo(map);
