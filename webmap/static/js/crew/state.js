/*
 * What the handheld knows (S), and its redraw.
 *
 * The credentials (the CSRF token or the device's bearer token) are the
 * shared api.js's `auth`. The entry module registers what a redraw draws
 * (onRender); render() redraws, so the modules that change S need not know
 * the views (no import cycles).
 */
import { afterPress } from '../dom.js';

export const app = document.getElementById('app');

export const S = {
  db: null,            // the IndexedDB database
  user: null,          // {username, role, crew}
  device: null,        // the id that names this handheld in event ids
  authed: null,        // true, false, or null (unknown: no answer yet)
  online: navigator.onLine,
  jobs: new Map(),     // id -> job document (with customer_details, outage_details)
  order: [],
  outbox: [],
  feeders: new Map(),  // device -> feeder trace
  maps: new Map(),     // job id -> its map data (network, roads, zones: jobmap.js)
  damage: new Map(),   // outage id -> its damage reports (damage.js)
  crew: null,          // the crew's own record from /api/crews
  shift: false,        // on shift (sharing its position)
  shiftKnown: false,   // ... as set on this handheld or read from the server
  synced: null,
  current: null,       // the job shown in the detail view
  pos: null,           // {lon, lat, time}
  lastEventId: null,
  seq: 0,
  confirm: null,       // the action waiting for a second tap
  closed: new Set(),   // jobs this handheld closed (no "recalled" notice for them)
  noticed: new Set(),  // jobs whose loss the crew was told of already
  // The crew's switching work (switching.js): issued orders with a step of its
  // own, safety documents issued to it, planned outages it works on.
  switching: { orders: [], safety: [], planned: [], synced: null },
};

const renderers = [];

export function onRender(fn) {
  renderers.push(fn);
}

/** Redraws everything on screen from S. */
export function render() {
  afterPress(draw);  // never between the press and the release of a button
}

function draw() {
  for (const fn of renderers) fn();
}
