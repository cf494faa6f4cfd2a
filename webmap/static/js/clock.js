/*
 * The server's clock in the browser: now() in epoch ms.
 *
 * Countdowns and the times a handheld stamps on a crew's actions must follow
 * the server's clock, not the device's: handheld clocks drift, and `oms demo`
 * runs simulated time faster than real time. GET /api/clock gives the
 * server's now and its speed (simulated seconds per real second); the
 * calibration is kept in localStorage so an offline handheld keeps it.
 * describe() says what this clock is, for a label: a page showing it must
 * not call it local time when it runs simulated. window.omsClock is the
 * same, for the console.
 */
import { request } from './api.js';

const KEY = 'oms-clock';
const EVERY_MS = 60000;

let cal = null;
try { cal = JSON.parse(localStorage.getItem(KEY) || 'null'); } catch { cal = null; }

/** The server's time now, in epoch milliseconds. */
export function now() {
  if (!cal) return Date.now();
  return cal.server + (Date.now() - cal.local) * cal.speed;
}

/** The server's speed: simulated seconds per real second (1 live; null before calibrating). */
export function speed() {
  return cal ? cal.speed : null;
}

const ZONE = (() => {
  const minutes = -new Date().getTimezoneOffset();
  const abs = Math.abs(minutes);
  const hm = `${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
  return `UTC${minutes < 0 ? '-' : '+'}${hm}`;
})();

/**
 * What now() is, in words: "System time (simulated, x60)" when the server
 * runs faster than real time; else the server's clock, with how far it is
 * from this computer's when they differ by more than a minute (a test or
 * replay clock). Shown in this browser's time zone.
 */
export function describe() {
  if (!cal) return `System time (the server's clock, not yet read: this computer's clock), ${ZONE}`;
  if (cal.speed !== 1) return `System time (simulated, x${cal.speed}), shown in ${ZONE}`;
  const off = Math.round((now() - Date.now()) / 60000);
  if (Math.abs(off) <= 1) return `System time (the server's clock, real time), shown in ${ZONE}`;
  const by = Math.abs(off) >= 120 ? `${Math.round(Math.abs(off) / 60)} h` : `${Math.abs(off)} min`;
  return `System time (the server's clock, ${by} ${off > 0 ? 'ahead of' : 'behind'} this computer), shown in ${ZONE}`;
}

const labelled = new Set();

function paintLabel(el) {
  el.title = describe();
  el.setAttribute('aria-label', el.title);
  const fast = cal !== null && cal.speed !== 1;
  el.toggleAttribute('data-sim', fast);
  if (fast) el.dataset.speed = cal.speed;
}

/** Keeps the title of `el` (a display of now()) saying what this clock is, calibration after calibration. */
export function labelClock(el) {
  labelled.add(el);
  paintLabel(el);
}

/** Asks the server for its clock; offline, the last calibration stays. */
export async function calibrate() {
  const sent = Date.now();
  let doc = null;
  try {
    const r = await request('GET', '/api/clock', undefined, { cache: 'no-store' });
    doc = r.ok ? r.data : null;
  } catch {
    return;  // offline: keep the last calibration
  }
  if (!doc || !doc.now) return;
  const back = Date.now();
  // The server read its clock about halfway through the round trip.
  cal = { server: Date.parse(doc.now), local: (sent + back) / 2, speed: Number(doc.speed) || 1 };
  try { localStorage.setItem(KEY, JSON.stringify(cal)); } catch { /* private mode */ }
  for (const el of labelled) paintLabel(el);
}

/** Settles once the first calibration is done (or failed). */
export const ready = calibrate();
setInterval(calibrate, EVERY_MS);

window.omsClock = { now, calibrate, ready, speed, describe };
