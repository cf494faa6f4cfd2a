/*
 * The way to the job: the distance and direction from the crew's position
 * (#route, with a geo: link for the phone's navigation app) and, when
 * Leaflet is loaded (it is optional offline), a small map (#map) of the
 * network and streets around the job, from the map data kept with it
 * (jobmap.js): the zones and roads under the network's lines by state
 * (the job's device stands out), the job and the crew on top.
 */
import { byId, h } from '../dom.js';
import { bearing, metres } from './geo.js';
import { S, app } from './state.js';

const ROAD = { major: { color: '#9aa5b1', weight: 5 }, minor: { color: '#c3cbd3', weight: 3 } };
const LINE = {
  energized: { color: '#1b7f3b', weight: 2.5 },
  open: { color: '#5b6b78', weight: 2.5, dashArray: '4 4' },
  deenergized: { color: '#d97a00', weight: 3.5 },
  faulted: { color: '#b3261e', weight: 5 },
};

let map = null;
let layers = null;
let drawn = null;  // the map data drawn, so a GPS fix does not redraw the streets

/** The crew's position: this handheld's last fix, else the server's record. */
export function crewPos() {
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
  layers = {
    ground: L.geoJSON(null, { interactive: false, style: groundStyle }).addTo(map),
    network: L.geoJSON(null, { interactive: false, style: lineStyle, pointToLayer: sourcePoint }).addTo(map),
    marks: L.layerGroup().addTo(map),
  };
}

function groundStyle(f) {
  const p = f.properties;
  if (p.layer === 'zone') return { color: '#8796a5', weight: 1, dashArray: '5 4', fillOpacity: 0.04 };
  return ROAD[p.major ? 'major' : 'minor'];
}

function lineStyle(f) {
  const p = f.properties;
  const style = LINE[p.state] || LINE.energized;
  const job = S.jobs.get(S.current);
  return job && p.id && p.id === job.device ? { ...style, color: '#b3261e', weight: 8 } : style;
}

const sourcePoint = (f, latlng) => window.L.circleMarker(latlng, { radius: 6, color: '#10202e', fillOpacity: 1 });

/** Draws the job's map data (once per copy) and tells how much it holds. */
function drawGround(job) {
  const data = S.maps.get(job.id) || null;
  const box = byId('map-box');
  box.dataset.roads = String(data?.basemap?.roads ?? 0);
  box.dataset.lines = String(data?.network?.edges ?? 0);
  box.dataset.kept = data ? '1' : '0';
  if (drawn === data) return;
  drawn = data;
  layers.ground.clearLayers();
  layers.network.clearLayers();
  if (!data) return;
  layers.ground.addData(data.basemap);
  layers.network.addData(data.network);
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
  if (reset) drawn = null;
  drawGround(job);
  layers.marks.clearLayers();
  L.circleMarker([target.lat, target.lon], { radius: 10, color: '#b3261e', fillOpacity: 0.8 })
    .bindTooltip(h('span', {}, job.id)).addTo(layers.marks);
  const pts = [[target.lat, target.lon]];
  if (me) {
    L.circleMarker([me.lat, me.lon], { radius: 8, color: '#0b62c4', fillOpacity: 0.8 }).bindTooltip('You').addTo(layers.marks);
    L.polyline([[me.lat, me.lon], [target.lat, target.lon]], { dashArray: '6 6', color: '#0b62c4' }).addTo(layers.marks);
    pts.push([me.lat, me.lon]);
  }
  if (!reset && pts.length < 2) return;
  setTimeout(() => {
    map.invalidateSize();
    if (pts.length > 1 && metres(me, target) < 3000) map.fitBounds(pts, { padding: [30, 30], maxZoom: 17 });
    else map.setView(pts[0], 16);
  }, 0);
}
