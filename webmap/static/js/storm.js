/*
 * Storm mode on every page (issue 16): a banner at the top while it is on,
 * "Storm mode since 14:05 (dora: Storm Ada) · dispatch: suggest only ·
 * storm ETR: 18:00 · North Plain 20:00", hidden while it is off.
 *
 * The page holds the banner (#storm-banner, hidden) and calls watchStorm().
 * GET /api/storm gives the state. A page with the live stream hands every
 * alert row to stormAlert() (each change of storm mode is an alert of kind
 * storm_mode whose detail is the new state) and calls refreshStorm() when
 * its stream (re)connects; a page without one (the handheld: its stream
 * carries only its own crew's alerts) polls every POLL_MS. Every page asks
 * again when it comes back into view or back online.
 *
 * The last state is kept in localStorage: a page that cannot reach the
 * server shows it, marked as the last known. Zone ETRs are named by the
 * zones' names (GET /api/public/areas, asked once and kept with it).
 */
import { request } from './api.js';
import { now } from './clock.js';
import { byId, fill, h } from './dom.js';

const KEY = 'oms-storm';
const POLL_MS = 30000;

/** The dispatch policies (oms.engine.storm.DISPATCH_POLICIES) in words. */
export const POLICIES = { suggest: 'suggest only', batch: 'batch', automatic: 'automatic' };

const kept = (() => {
  try { return JSON.parse(localStorage.getItem(KEY) || 'null') || {}; } catch { return {}; }
})();
let state = kept.state ?? null;    // {on: false} or {on: true, since, by, reason, dispatch, etr, zone_etrs}
let names = kept.names ?? null;    // zone id -> its name, once asked for
let known = true;                  // false: the server could not be reached, the state is the last known
let changes = 0;                   // states from the stream: an answer asked for before one is older
let naming = null;
const listeners = [];

function keep() {
  try { localStorage.setItem(KEY, JSON.stringify({ state, names })); } catch { /* private mode */ }
}

const pad = (n) => String(n).padStart(2, '0');

/** "14:05" today by the server's clock, else "3 Mar 14:05" (this browser's time zone; not broken across lines). */
export function stormTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === new Date(now()).toDateString()) return hm;
  return `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })} ${hm}`.replace(/ /g, '\u00a0');
}

/** A zone's name (its id until the names are known). */
const zoneName = (id) => names?.[id] ?? id;

/** Zone id -> name of every response zone (asked for once; {} when it cannot be had). */
export function zoneNames() {
  naming ??= request('GET', '/api/public/areas').then((r) => {
    if (!r.ok || !Array.isArray(r.data?.features)) throw new Error('no zones');
    names = Object.fromEntries(r.data.features.map((f) => [f.properties.id, f.properties.name || f.properties.id]));
    keep();
    paint();
    return names;
  }).catch(() => {
    naming = null;  // asked again next time
    return names ?? {};
  });
  return naming;
}

/** The storm's ETRs in words: "storm ETR: 18:00 · North Plain 20:00", or "no storm ETR". */
function etrText(s) {
  const zones = Object.entries(s.zone_etrs || {})
    .map(([zone, when]) => `${zoneName(zone)} ${stormTime(when)}`).sort();
  const all = [s.etr ? stormTime(s.etr) : null, zones.join(', ') || null].filter(Boolean);
  return all.length ? `storm ETR: ${all.join(' · ')}` : 'no storm ETR';
}

/** What the banner says of an "on" state, in its parts. */
function stormWords(s) {
  const who = [s.by, s.reason].filter(Boolean).join(': ');
  return {
    since: `since ${stormTime(s.since)}${who ? ` (${who})` : ''}`,
    dispatch: `dispatch: ${POLICIES[s.dispatch] ?? s.dispatch}`,
    etr: etrText(s),
  };
}

function paint() {
  const el = byId('storm-banner');
  if (!el) return;
  const on = Boolean(state?.on);
  el.hidden = !on;
  el.toggleAttribute('data-on', on);
  el.toggleAttribute('data-stale', on && !known);
  if (!on) {
    fill(el);
    el.title = '';
    return;
  }
  const w = stormWords(state);
  fill(el,
    h('b', { class: 'storm-title' }, 'Storm mode'), ' ',
    h('span', { class: 'storm-since' }, w.since), ' · ',
    h('span', { class: 'storm-dispatch' }, w.dispatch), ' · ',
    h('span', { class: 'storm-etr' }, w.etr),
    known ? null : h('span', { class: 'storm-stale' }, ' · last known: the server cannot be reached'));
  el.title = el.textContent;
  if (Object.keys(state.zone_etrs || {}).some((z) => !names?.[z])) zoneNames();
}

function set(next) {
  state = next?.on ? next : { on: false };
  known = true;
  keep();
  paint();
  for (const fn of listeners) fn(state);
}

/** Storm mode as last known ({on: false} before anything is known). */
export const stormState = () => state ?? { on: false };

/** Runs fn(state) on every change of the state shown. */
export function onStorm(fn) {
  listeners.push(fn);
}

/** Asks the server for storm mode now; unreachable, the last known state stays, marked so. */
export async function refreshStorm() {
  const asked = changes;
  let r;
  try {
    r = await request('GET', '/api/storm', undefined, { cache: 'no-store' });
  } catch {
    known = false;
    paint();
    return;
  }
  if (!r.ok || !r.data || asked !== changes) return;  // signed out: the page's own business
  set(r.data);
}

/** An alert row from the live stream: true when it changed storm mode (and the banner). */
export function stormAlert(alert) {
  if (alert?.kind !== 'storm_mode' || !alert.detail) return false;
  changes += 1;
  set(alert.detail);
  return true;
}

/**
 * Shows the banner from the last known state and asks the server; `poll`:
 * asks again every POLL_MS (a page without the live stream).
 */
export function watchStorm({ poll = false } = {}) {
  paint();
  refreshStorm();
  if (poll) setInterval(refreshStorm, POLL_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refreshStorm();
  });
  window.addEventListener('online', refreshStorm);
}
