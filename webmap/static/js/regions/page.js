/*
 * The routes across control regions drawn (/regions), started by the entry
 * module (static/regions.js) with the page's config.
 *
 * Two documents: the open outages of every region (GET /api/regions/outages)
 * on the map (map.js) and the overview's totals of all regions and of each
 * (GET /api/regions/overview) in the table (totals.js). Both are fetched
 * again when the stream across regions (/api/regions/stream) reports a
 * change to outages, jobs, crews or alerts in any region: changes arriving
 * together, or while a fetch is out, are folded into one more fetch. The
 * server's combined snapshots see a change in another region's schema
 * within config.snapshotS (OMS_SNAPSHOT_S), so a change also asks once
 * more after that. Time passing changes the figures (ETRs passed): they
 * are fetched every minute besides. The stream's id names a position per
 * region, so a reconnection misses nothing. window.omsRegions is for tests
 * and the console.
 */
import { request } from '../api.js';
import { coalesced } from '../coalesce.js';
import { byId } from '../dom.js';
import { hhmm } from '../format.js';
import { keepOpen } from '../stream.js';
import { colourOf, createMap, drawOutages, setRegions } from './map.js';
import { drawTotals } from './totals.js';

const KINDS = ['outage', 'job', 'crew', 'alert', 'alert_ack'];
const MIN_GAP_MS = 400;  // between two fetches: a burst of changes is one fetch
const EVERY_MS = 60000;

let config = { snapshotS: 1 };
const state = {
  late: null,
  lastId: null,
};

const hooks = {
  ready: false,
  fetches: 0,
  events: 0,
  markers: {},
  totals: null,
  outages: null,
};
window.omsRegions = hooks;

function signIn() {
  window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
}

// ------------------------------------------------------------ fetching
const get = (url) => request('GET', url, undefined, { cache: 'no-store' });

/** Fetch the documents and draw them (through refreshSoon: one at a time). */
async function load() {
  hooks.fetches += 1;
  try {
    const [totals, outages] = await Promise.all([get('/api/regions/overview'), get('/api/regions/outages')]);
    if (totals.status === 401 || outages.status === 401) return signIn();
    if (totals.ok && totals.data) {
      setRegions(Object.keys(totals.data.regions));
      drawTotals(byId('totals-body'), totals.data, colourOf);
      byId('asof').textContent = `as of ${hhmm(totals.data.as_of)}`;
      hooks.totals = totals.data;
    }
    if (outages.ok && outages.data) {
      hooks.markers = drawOutages(outages.data);
      hooks.outages = outages.data;
    }
    hooks.ready = Boolean(hooks.totals && hooks.outages);
  } catch {
    // Offline for a moment: the stream's reconnection fetches again.
  }
}

/** One fetch soon, whatever else asks for one meanwhile. */
const refreshSoon = coalesced(load, MIN_GAP_MS);

/** A change in some region: fetch now, and once more when every snapshot has seen it. */
function changed() {
  hooks.events += 1;
  refreshSoon();
  clearTimeout(state.late);
  state.late = setTimeout(refreshSoon, config.snapshotS * 1000 + 250);
}

// ------------------------------------------------------------ stream
function setLive(on) {
  const el = byId('live');
  el.className = `live ${on === true ? 'on' : on === false ? 'off' : 'connecting'}`;
  el.textContent = on === true ? 'live' : on === false ? 'reconnecting' : 'connecting';
}

function connect() {
  const since = state.lastId !== null ? `?since=${encodeURIComponent(state.lastId)}` : '';
  const es = new EventSource(`/api/regions/stream${since}`);
  es.onopen = () => setLive(true);
  keepOpen(es, { lost: () => setLive(false), signIn, reconnect: connect });
  es.addEventListener('hello', (e) => {
    setLive(true);
    state.lastId = e.lastEventId;
    refreshSoon();  // what came before the stream began, or while it was down
  });
  for (const kind of KINDS) {
    es.addEventListener(kind, (e) => {
      state.lastId = e.lastEventId || state.lastId;
      changed();
    });
  }
}

/** Starts the page with its config ({snapshotS, tiles, tilesAttribution}). */
export function start(given) {
  config = given;
  createMap(byId('map'), config);
  refreshSoon();  // beside the stream's first hello, which asks again for what came between
  connect();
  setInterval(refreshSoon, EVERY_MS);
}
