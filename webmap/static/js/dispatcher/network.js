/*
 * The network layer: the lines of the view, coloured by state as operated.
 *
 * GET /map/network.geojson?bbox=&zoom= gives the network of a box around
 * the view (simplified when far out: see webmap/layers.py). A moved view
 * aborts the request in flight (its answer is of no use); a refresh asked
 * while one is in flight (the state changed) runs once it is done, so a
 * storm of changes never starves the map of answers. An answer that the
 * browser revalidated (same ETag) is not drawn again. Each request also
 * calls the functions of networkRequested with its box, so the device
 * symbols of the same box load alongside.
 */
import { send } from '../api.js';
import { afterPress, byId, h } from '../dom.js';
import { STATE_STYLE, signIn } from './config.js';
import { debounce } from './format.js';
import { canvas, icon, map, tip } from './map.js';
import { devicePopup } from './plan.js';
import { hooks } from './state.js';
import { toast } from './toast.js';
import { viewParam } from './view.js';

const { L } = window;

const edgeLayers = new Map();  // edge id -> its Leaflet layer
let info = { detail: false, edges: 0, drawn: 0, zoom: null, states: {} };

export const networkLayer = L.geoJSON(null, {
  renderer: canvas,
  style: (f) => STATE_STYLE[f.properties.state] || STATE_STYLE.energized,
  pointToLayer: (f, ll) => L.marker(ll, {
    icon: icon(h('div', { class: 'oms-source' }), [14, 14]),
    keyboard: false,
    title: f.properties.name || f.properties.id,
  }),
  onEachFeature: (f, layer) => {
    const p = f.properties;
    if (p.kind === 'source') {
      layer.bindTooltip(tip(p.name || p.id, ' (source)'));
      return;
    }
    if (p.id) edgeLayers.set(p.id, layer);
    layer.on('click', (ev) => devicePopup(p, ev.latlng));
  },
});

/** Called with {bbox, zoom} on every request of the network (a move out of the box, a change of state). */
export const networkRequested = [];

let abort = null;
let seq = 0;
let last = null;   // {bbox, zoom, url} of the last answer drawn
let busy = false;
let dirty = false;
let lastEtag = null;

function viewBox(padRatio) {
  const b = map.getBounds().pad(padRatio);
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
}
const contains = (outer, inner) =>
  outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];

/** Loads the network of the view: when it moved out of the last box, or always with `force`. */
export async function loadNetwork(force) {
  const zoom = map.getZoom();
  const view = viewBox(0);
  const moved = !last || last.zoom !== zoom || !contains(last.bbox, view);
  if (!force && !moved) return;
  if (busy && !moved) {
    dirty = true;
    return;
  }
  const bbox = moved ? viewBox(0.25) : last.bbox;
  abort?.abort();
  abort = new AbortController();
  const mine = ++seq;
  busy = true;
  dirty = false;
  const url = `/map/network.geojson?bbox=${bbox.map((v) => v.toFixed(6)).join(',')}&zoom=${zoom}${viewParam()}`;
  for (const fn of networkRequested) fn({ bbox, zoom });
  let doc = null;
  try {
    const res = await send('GET', url, undefined, { signal: abort.signal, accept: 'application/geo+json' });
    if (res.status === 401) signIn();
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const etag = res.headers.get('ETag');
    // Revalidated and unchanged (the browser answers 304s from its cache): nothing to redraw.
    if (!(etag && etag === lastEtag && last && last.url === url)) {
      doc = await res.json();
      lastEtag = etag;
    }
  } catch (err) {
    if (mine === seq) busy = false;
    if (err.name !== 'AbortError') toast(`Network layer: ${err.message}`, 'error');
    return;
  }
  if (mine !== seq) return;
  busy = false;
  last = { bbox, zoom, url };
  if (doc) {
    // Not under a click on a symbol: drawn once the pointer is released, the newest document.
    drawn = doc;
    afterPress(drawNewest);
  }
  hooks.networkLoads += 1;
  hooks.lastNetworkAt = performance.now();
  if (dirty) loadNetwork(true);
}

let drawn = null;

function drawNewest() {
  if (drawn) draw(drawn);
  drawn = null;
}

function draw(doc) {
  edgeLayers.clear();
  networkLayer.clearLayers();
  networkLayer.addData(doc);
  info = { detail: doc.detail, edges: doc.edges, drawn: doc.drawn, zoom: doc.zoom, states: doc.states };
  const box = byId('net-info');
  if (box) {
    box.textContent = `${doc.edges.toLocaleString()} edges in view` +
      (doc.detail ? '' : ` · simplified (${doc.drawn.toLocaleString()} segments); zoom in for every edge`);
  }
  if (!hooks.ready) {
    requestAnimationFrame(() => {
      hooks.firstRenderMs = Math.round(performance.now());
      hooks.ready = true;
    });
  }
}

/** A reload soon (the network's state changed). */
export const scheduleNetwork = debounce(() => loadNetwork(true), 100);

hooks.networkCount = () => info.drawn;
hooks.networkInfo = () => ({
  detail: info.detail, edges: info.edges, drawn: info.drawn, zoom: info.zoom,
  states: info.states, layers: networkLayer.getLayers().length,
});
hooks.edgeState = (id) => edgeLayers.get(id)?.feature.properties.state ?? null;
hooks.reloadNetwork = () => loadNetwork(true);
