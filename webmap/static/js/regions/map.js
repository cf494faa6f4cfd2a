/*
 * The map of /regions: the open outages of every region
 * (GET /api/regions/outages), a circle each in its region's colour, sized by
 * its customers out (a restored one faint), and a legend of the regions
 * with the outages each has on the map (active, and restored besides). The
 * view fits the outages once, then stays where the user puts it.
 */
import { fill, h, htmlText } from '../dom.js';
import { count } from '../format.js';

const { L } = window;
const PALETTE = ['#4ea1ff', '#ff9f1a', '#35b27c', '#c77dff', '#ff4d5e', '#2ec4b6', '#f4d35e', '#e76f51'];

const colours = new Map();
let map = null;
let layer = null;
let legendBox = null;
let fitted = false;

/** Colours by region, in the order of their names (the same on every screen). */
export function setRegions(names) {
  [...names].sort().forEach((name, k) => colours.set(name, PALETTE[k % PALETTE.length]));
}

/** A region's colour (one it was not given yet: the next of the palette). */
export function colourOf(region) {
  if (!colours.has(region)) colours.set(region, PALETTE[colours.size % PALETTE.length]);
  return colours.get(region);
}

/** The map in `box`, with the utility's own tiles when configured (OMS_TILE_URL). */
export function createMap(box, config) {
  map = L.map(box, { zoomSnap: 0.25, minZoom: 2, maxZoom: 20 }).setView([0, 0], 2);
  if (config.tiles) {
    // Leaflet reads an attribution as HTML: the configured text is shown as text.
    L.tileLayer(config.tiles, { maxZoom: 22, attribution: htmlText(config.tilesAttribution) }).addTo(map);
  }
  map.attributionControl.setPrefix('Leaflet · open-oms');
  L.control.scale({ imperial: false }).addTo(map);
  layer = L.layerGroup().addTo(map);
  const legend = L.control({ position: 'bottomleft' });
  legend.onAdd = () => {
    legendBox = h('div', { class: 'legend', id: 'legend' });
    L.DomEvent.disableClickPropagation(legendBox);
    return legendBox;
  };
  legend.addTo(map);
  return map;
}

function tooltip(p) {
  return h('span', {},
    h('b', {}, p.region), ` · ${p.id} · ${p.state}`, h('br'),
    p.device || p.customer || '', ` · ${count(p.customers_out)} out`);
}

function legendLine(name, drawn, restored) {
  const active = (drawn[name] ?? 0) - (restored[name] ?? 0);
  return h('div', { 'data-region': name },
    h('span', { class: 'swatch', style: { background: colourOf(name) } }),
    `${name} · ${count(active)}`,
    restored[name] ? h('span', { class: 'muted' }, ` (+${count(restored[name])} restored)`) : null);
}

/** Draws the outages of `doc` (GeoJSON); gives the markers drawn per region. */
export function drawOutages(doc) {
  layer.clearLayers();
  const drawn = {};
  const restored = {};
  const points = [];
  for (const feature of doc.features) {
    const p = feature.properties;
    drawn[p.region] = drawn[p.region] ?? 0;
    if (!feature.geometry) continue;  // its region's network has no place for it
    const [lon, lat] = feature.geometry.coordinates;
    const faint = p.state === 'restored';
    const colour = colourOf(p.region);
    const marker = L.circleMarker([lat, lon], {
      radius: Math.min(18, 5 + Math.sqrt(p.customers_out || 0)),
      color: colour,
      fillColor: colour,
      weight: faint ? 1 : 2,
      fillOpacity: faint ? 0.15 : 0.6,
      className: faint ? 'outage restored' : 'outage',
    }).bindTooltip(() => tooltip(p)).addTo(layer);
    marker.getElement()?.setAttribute('data-region', p.region);
    marker.getElement()?.setAttribute('data-outage', p.id);
    drawn[p.region] += 1;
    if (faint) restored[p.region] = (restored[p.region] ?? 0) + 1;
    points.push([lat, lon]);
  }
  if (!fitted && points.length) {
    map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
    fitted = true;
  }
  fill(legendBox, [...colours.keys()].sort().map((name) => legendLine(name, drawn, restored)));
  return drawn;
}
