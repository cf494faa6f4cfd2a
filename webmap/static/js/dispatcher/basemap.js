/*
 * The basemap: the network's own roads and zones, so the map has streets
 * with no internet and no tile server.
 *
 * GET /map/basemap.geojson?bbox=&zoom= gives the zones (with a point for
 * their name) and the roads of a box around the view (side streets from
 * zoom 13: see webmap/basemap.py). Drawn in muted colours on a canvas in
 * the lowest pane, under the tiles of OMS_TILE_URL when there are, and under
 * the network; zone names in a pane of their own, never clickable, a name
 * that would overlap another hidden (town zones' names kept first). The
 * answer carries an ETag: the browser revalidates and an unchanged view
 * costs a 304.
 */
import { call } from '../api.js';
import { h } from '../dom.js';
import { basemapCanvas, icon, map } from './map.js';
import { hooks } from './state.js';

const { L } = window;

const ZONE_FILL = { urban: '#7f8fa6', rural: '#6f8f6a', remote: '#8f7f5f' };
const ROAD_STYLE = {
  major: { color: '#4a5a6e', weight: 4, opacity: 1 },
  minor: { color: '#354354', weight: 2, opacity: 1 },
};

export const basemapLayer = L.geoJSON(null, {
  renderer: basemapCanvas,
  pane: 'basemap',
  interactive: false,
  style: (f) => {
    const p = f.properties;
    if (p.layer === 'zone') {
      return {
        color: '#4a5868', weight: 1.2, dashArray: '6 5', opacity: 0.9,
        fillColor: ZONE_FILL[p.area_class] || ZONE_FILL.rural, fillOpacity: 0.06,
      };
    }
    return p.major ? ROAD_STYLE.major : ROAD_STYLE.minor;
  },
});
const zoneLabels = L.layerGroup();

let last = null;  // {bbox, zoom} of the last answer drawn
let seq = 0;
let info = { roads: 0, zones: 0 };

function viewBox(padRatio) {
  const b = map.getBounds().pad(padRatio);
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
}
const contains = (outer, inner) =>
  outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];

function draw(doc) {
  basemapLayer.clearLayers();
  zoneLabels.clearLayers();
  basemapLayer.addData(doc);
  for (const f of doc.features) {
    const p = f.properties;
    if (p.layer !== 'zone') continue;
    L.marker([p.label_at[1], p.label_at[0]], {
      icon: icon(h('div', { class: ['oms-zone-label', p.area_class], 'data-zone': p.id }, p.name), [0, 0]),
      pane: 'zoneLabels',
      interactive: false,
      keyboard: false,
    }).addTo(zoneLabels);
  }
  info = { roads: doc.roads, zones: doc.zones };
  hideCrowdedLabels();
}

/** Zone names that would overlap another: hidden, town zones' kept first (then the server's order). */
function hideCrowdedLabels() {
  const labels = zoneLabels.getLayers().map((m) => m.getElement()?.firstElementChild).filter(Boolean);
  labels.sort((a, b) => Number(b.classList.contains('urban')) - Number(a.classList.contains('urban')));
  const kept = [];
  for (const label of labels) {
    label.hidden = false;
    const r = label.getBoundingClientRect();
    const clash = kept.some((k) => r.left < k.right + 4 && k.left < r.right + 4 && r.top < k.bottom && k.top < r.bottom);
    if (clash) label.hidden = true;
    else kept.push(r);
  }
  info.hidden = labels.length - kept.length;
}

/** Loads the basemap of the view when it left the last box or the zoom changed. */
export async function loadBasemap() {
  if (!map.hasLayer(basemapLayer)) return;
  const zoom = map.getZoom();
  if (last && last.zoom === zoom && contains(last.bbox, viewBox(0))) return;
  const bbox = viewBox(0.5);
  const mine = ++seq;
  let doc;
  try {
    doc = await call('GET', `/map/basemap.geojson?bbox=${bbox.map((v) => v.toFixed(6)).join(',')}&zoom=${zoom}`);
  } catch {
    return;  // the map works without its streets
  }
  if (mine !== seq) return;
  last = { bbox, zoom };
  draw(doc);
  hooks.basemapLoads += 1;
}

basemapLayer.on('add', () => {
  zoneLabels.addTo(map);
  last = null;
  loadBasemap();
});
basemapLayer.on('remove', () => zoneLabels.remove());
map.on('moveend', loadBasemap);

hooks.basemapLoads = 0;
hooks.basemapInfo = () => ({ ...info, layers: basemapLayer.getLayers().length, labels: zoneLabels.getLayers().length });
