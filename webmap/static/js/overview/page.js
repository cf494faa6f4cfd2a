/*
 * The storm overview page (/overview) and wall display (/overview?wall=1),
 * started by the entry module (static/overview.js) with the page's config.
 *
 * One document, GET /api/overview, drawn into the panels (panels.js) and
 * the chart (chart.js). It is fetched again when the server's event
 * stream (/stream) reports a change to outages, jobs, crews or alerts:
 * changes arriving together, or while a fetch is out, are folded into one
 * more fetch, so each panel is drawn at most once per change (and only if
 * what it shows changed). Time passing moves the chart: the document is
 * also fetched once per step of the chart's samples (by the server's
 * clock, at least every 5 s and at most every 60 s of real time).
 *
 * The wall display has no controls and shows one group table at a time,
 * each for ROTATE_MS. The storm banner (../storm.js) follows the stream's
 * alert rows. window.omsOverview is for tests and the console.
 */
import { request } from '../api.js';
import { ready as clockReady, labelClock, speed } from '../clock.js';
import { coalesced } from '../coalesce.js';
import { $$, byId } from '../dom.js';
import { hhmm } from '../format.js';
import { refreshStorm, stormAlert, watchStorm } from '../storm.js';
import { keepOpen } from '../stream.js';
import { drawChart } from './chart.js';
import { draw, drawAll, draws, fitShown, setVocabulary } from './panels.js';

let config = { wall: false, groups: [] };
let wall = false;
const KINDS = ['outage', 'job', 'crew', 'alert', 'alert_ack'];
const MIN_GAP_MS = 400;  // between two fetches: a burst of changes is one fetch
const ROTATE_MS = 15000;

const state = {
  hours: 12,
  doc: null,
  lastSeq: null,
  rotation: 0,
};

const hooks = {
  ready: false,
  fetches: 0,
  events: 0,
  draws,
  get rotateMs() { return wall ? ROTATE_MS : null; },
  get doc() { return state.doc; },
  rotate: () => rotate(),
  shownGroup: () => $$('.group').find((g) => !g.hidden)?.dataset.group ?? null,
};
window.omsOverview = hooks;

function signIn() {
  window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
}

// ------------------------------------------------------------ drawing
function drawChartPanel(doc) {
  const box = byId('chart-body');
  // Its size is part of what it shows: a resize draws it again.
  const model = { series: doc.series, peak: doc.peak, w: box.clientWidth, h: box.clientHeight };
  const peak = `peak ${doc.peak.customers_out.toLocaleString('en-US')} at ${hhmm(doc.peak.time)}`;
  // The server starts the series shortly before the first outage of a quiet window.
  const from = Date.parse(doc.series[0]?.time);
  const whole = Date.parse(doc.as_of) - from >= doc.hours * 3600000 - 1000;
  const span = whole || Number.isNaN(from) ? `last ${doc.hours} h` : `since ${hhmm(doc.series[0].time)}`;
  byId('chart-title').textContent = `Customers out, ${span} · ${peak}`;
  draw('chart', box, model, (node, m) => drawChart(node, m.series, m.peak, { big: wall }));
}

function render(doc) {
  drawAll(doc, { wall, groups: config.groups });
  drawChartPanel(doc);
  byId('asof').textContent = `as of ${hhmm(doc.as_of)}`;
}

// ------------------------------------------------------------ fetching
/** Fetch the documents and draw them (through refreshSoon: one at a time). */
async function load() {
  hooks.fetches += 1;
  try {
    const r = await request('GET', `/api/overview?hours=${state.hours}`, undefined, { cache: 'no-store' });
    if (r.status === 401) return signIn();
    if (r.ok && r.data) {
      state.doc = r.data;
      render(r.data);
      hooks.ready = true;
    }
  } catch {
    // Offline for a moment: the stream's reconnection fetches again.
  }
}

/** One fetch soon, whatever else asks for one meanwhile. */
const refreshSoon = coalesced(load, MIN_GAP_MS);

/** Real milliseconds per sample of the chart at the server's clock speed. */
function tickMs() {
  const stepMs = (state.hours * 3600000) / 120;
  return Math.min(60000, Math.max(5000, stepMs / (speed() || 1)));
}

function keepTime() {
  setTimeout(() => {
    refreshSoon();
    keepTime();
  }, tickMs());
}

// ------------------------------------------------------------ stream
function setLive(on) {
  const el = byId('live');
  el.className = `live ${on === true ? 'on' : on === false ? 'off' : 'connecting'}`;
  el.textContent = on === true ? 'live' : on === false ? 'reconnecting' : 'connecting';
}

function connect() {
  const es = new EventSource(`/stream${state.lastSeq !== null ? `?since=${state.lastSeq}` : ''}`);
  es.onopen = () => setLive(true);
  keepOpen(es, { lost: () => setLive(false), signIn, reconnect: connect });
  es.addEventListener('hello', (e) => {
    setLive(true);
    state.lastSeq = Number(e.lastEventId || 0);
    refreshSoon();  // what came before the stream began, or while it was down
    refreshStorm();
  });
  for (const kind of KINDS) {
    es.addEventListener(kind, (e) => {
      state.lastSeq = Number(e.lastEventId || state.lastSeq);
      hooks.events += 1;
      if (kind === 'alert') {
        try { stormAlert(JSON.parse(e.data).data); } catch { /* not JSON: the figures only */ }
      }
      refreshSoon();
    });
  }
}

// ------------------------------------------------------------ wall rotation
function rotate() {
  const panels = $$('.group');
  state.rotation = (state.rotation + 1) % panels.length;
  panels.forEach((p, k) => { p.hidden = k !== state.rotation; });
  fitShown(panels[state.rotation]);
}

/** Starts the page with its config ({wall, groups, vocabulary}). */
export function start(given) {
  config = given;
  wall = Boolean(config.wall);
  setVocabulary(config.vocabulary);
  if (wall) {
    $$('.group').forEach((p, k) => { p.hidden = k !== 0; });
    setInterval(rotate, ROTATE_MS);
  }
  state.hours = Number(config.hours) || 12;
  labelClock(byId('asof'));  // its title says what this clock is (simulated in the demo)
  byId('hours')?.addEventListener('change', (e) => {
    state.hours = Number(e.target.value);
    refreshSoon();
  });
  // The chart's size, and on the wall what fits each panel, are part of what they show.
  let resized = null;
  const observer = new ResizeObserver(() => {
    clearTimeout(resized);
    resized = setTimeout(() => state.doc && render(state.doc), 100);
  });
  observer.observe(byId('chart-body'));
  observer.observe(byId('overview'));
  refreshSoon();  // beside the stream's first hello, which asks again for what came between
  watchStorm();
  connect();
  clockReady.then(keepTime);
}
