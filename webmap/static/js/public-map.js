/*
 * The map of outage areas: the response zones (GET /api/public/areas, or
 * every control region's, GET /api/regions/public/areas; read once) drawn
 * with the vendored Leaflet (the global L) and coloured by the customers
 * out in each (the outages document, as the list shows them). A zone of a
 * region is known by its region and id: zone ids are each region's own.
 * Areas only: no customer, device or crew is drawn. No tiles, so the map
 * works on a network with no internet; the zones are the geography.
 */
import { request } from './api.js';
import { byId, h } from './dom.js';
import { count } from './public-format.js';

/** Colour bands by customers out: [at least, fill colour, legend label]. */
export const BANDS = [
  [1000, '#7f0000', '1,000 or more'],
  [100, '#c62828', '100 – 999'],
  [10, '#ef6c00', '10 – 99'],
  [1, '#f9a825', '1 – 9'],
  [0, '#cfe8d5', 'none'],
];

const band = (out) => BANDS.find(([least]) => out >= least);
/** A zone's key: its id, after its region's name in a document of regions. */
const keyOf = (region, id) => (region ? `${region}/${id}` : id);

let map = null;
let zones = null; // the L.geoJSON layer, one path per zone
let latest = null; // the latest outages document, by area id

/** Draws the zones of `areasUrl` the first time; colours them by the outages document `doc`. */
export async function showOnMap(doc, areasUrl) {
  latest = new Map(doc.areas.filter((a) => a.area).map((a) => [keyOf(a.region, a.area), a]));
  if (!map && !(await draw(areasUrl))) return;
  zones.eachLayer(paint);
}

async function draw(areasUrl) {
  const box = byId('map');
  if (!box || typeof L === 'undefined') return false;
  const r = await request('GET', areasUrl);
  if (!r.ok || !r.data?.features?.length) {
    box.hidden = true; // no zones loaded: the list says it all
    return false;
  }
  map = L.map(box, { attributionControl: false, zoomSnap: 0.25, scrollWheelZoom: false });
  zones = L.geoJSON(r.data, { style: { weight: 1.5, color: '#37474f', fillOpacity: 0.7 } });
  // The view first: a path gets its element when added to a map that has one.
  map.fitBounds(zones.getBounds(), { padding: [8, 8] });
  zones.addTo(map);
  zones.eachLayer((layer) => {
    const { id, region } = layer.feature.properties;
    layer.bindTooltip('', { sticky: true });
    layer.getElement().dataset.zone = id;
    if (region) layer.getElement().dataset.region = region;
    const inList = `[data-area="${CSS.escape(id)}"]${region ? `[data-region="${CSS.escape(region)}"]` : ''}`;
    layer.on('click', () => byId('areas').querySelector(inList)
      ?.scrollIntoView({ behavior: 'smooth', block: 'center' }));
  });
  legend().addTo(map);
  return true;
}

function paint(layer) {
  const p = layer.feature.properties;
  const a = latest.get(keyOf(p.region, p.id));
  const out = a ? a.customers_out : 0;
  const [, colour] = band(out);
  layer.setStyle({ fillColor: colour });
  layer.getElement().dataset.out = String(out);
  layer.setTooltipContent(h('span', {},
    h('strong', {}, p.name || p.id, p.region ? `, ${p.region}` : ''), h('br', {}),
    out ? `${count(out)} customers out · ${a.outages} outage(s)` : 'no outages'));
}

function legend() {
  const control = L.control({ position: 'bottomright' });
  control.onAdd = () => h('div', { class: 'map-legend' },
    h('strong', {}, 'Customers out'),
    BANDS.map(([, colour, label]) => h('div', {},
      h('i', { style: { background: colour } }), label)));
  return control;
}
