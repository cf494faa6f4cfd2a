/*
 * The way to the job: the distance and direction from the crew's position
 * (#route, with a geo: link for the phone's navigation app) and, when
 * Leaflet is loaded (it is optional offline), a small map (#map).
 */
import { byId, h } from '../dom.js';
import { bearing, metres } from './geo.js';
import { S, app } from './state.js';

let map = null;
let layers = null;

/** The crew's position: this handheld's last fix, else the server's record. */
function crewPos() {
  if (S.pos) return S.pos;
  if (S.crew && S.crew.lon !== null && S.crew.lon !== undefined) {
    return { lon: S.crew.lon, lat: S.crew.lat, time: S.crew.gps_time };
  }
  return null;
}

function createMap(box) {
  const { L } = window;
  map = L.map(box, { zoomControl: true, attributionControl: true });
  const tiles = app.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { attribution: app.dataset.attribution || '' }).addTo(map);
  layers = L.layerGroup().addTo(map);
}

/** Draws the way to the current job; `reset` fits the view even without a position. */
export function renderMap(reset) {
  const job = S.jobs.get(S.current);
  const box = byId('map');
  const route = byId('route');
  if (!job) {
    route.textContent = '';
    return;
  }
  const target = { lon: Number(job.lon), lat: Number(job.lat) };
  const me = crewPos();
  const nav = h('a', { class: 'btn small', href: `geo:${target.lat},${target.lon}?q=${target.lat},${target.lon}` }, 'Navigate');
  const text = me
    ? `${(metres(me, target) / 1000).toFixed(1)} km ${bearing(me, target)} (straight line)`
    : 'Your position is not known yet.';
  route.replaceChildren(text, ' ', nav);
  const { L } = window;
  if (!L) {
    box.classList.add('nomap');
    box.textContent = '';
    return;
  }
  box.classList.remove('nomap');
  if (!map) createMap(box);
  layers.clearLayers();
  L.circleMarker([target.lat, target.lon], { radius: 10, color: '#b3261e', fillOpacity: 0.8 })
    .bindTooltip(h('span', {}, job.id)).addTo(layers);
  const pts = [[target.lat, target.lon]];
  if (me) {
    L.circleMarker([me.lat, me.lon], { radius: 8, color: '#0b62c4', fillOpacity: 0.8 }).bindTooltip('You').addTo(layers);
    L.polyline([[me.lat, me.lon], [target.lat, target.lon]], { dashArray: '6 6', color: '#0b62c4' }).addTo(layers);
    pts.push([me.lat, me.lon]);
  }
  setTimeout(() => {
    map.invalidateSize();
    if (pts.length > 1) map.fitBounds(pts, { padding: [30, 30], maxZoom: 17 });
    else if (reset) map.setView(pts[0], 16);
  }, 0);
}
