/*
 * What the dispatcher page knows, and its redraw.
 *
 * store: the open outages, jobs, crews and alerts (from the API, then the
 * live stream). ui: what the dispatcher looks at. hooks: window.omsMap, the
 * read-only hooks for tests and the console (filled in by the modules).
 * The entry module registers what a redraw draws (onRender); render()
 * redraws now, renderSoon() once in the next frame. Modules that change the
 * store call these without knowing the views (no import cycles).
 */
import { now } from '../clock.js';
import { afterPress } from '../dom.js';

export const store = {
  outages: new Map(),
  jobs: new Map(),
  crews: new Map(),
  alerts: [],
  outagePos: new Map(),  // outage id -> L.LatLng of its marker
  loaded: false,
  buffer: null,          // stream events that came in while loading
  lastSeq: null,         // the last event of the stream seen
};

export const ui = { tab: 'jobs', selected: null, plan: null };

export const hooks = {
  map: null, ready: false, loaded: false, firstRenderMs: null, lastEventAt: 0,
  lastNetworkAt: 0, networkLoads: 0,
};
window.omsMap = hooks;

const renderers = [];
let timer = null;

/** Adds a drawing function, called with the server's time (epoch ms) on every render(). */
export function onRender(fn) {
  renderers.push(fn);
}

export function render() {
  const t = now();
  for (const fn of renderers) fn(t);
}

export function renderSoon() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    afterPress(render);  // never between the press and the release of a button
  }, 16);
}
