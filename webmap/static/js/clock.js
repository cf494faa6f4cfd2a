/*
 * The server's clock in the browser: now() in epoch ms.
 *
 * Countdowns and the times a handheld stamps on a crew's actions must follow
 * the server's clock, not the device's: handheld clocks drift, and `oms demo`
 * runs simulated time faster than real time. GET /api/clock gives the
 * server's now and its speed (simulated seconds per real second); the
 * calibration is kept in localStorage so an offline handheld keeps it.
 * window.omsClock is the same, for the console.
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
}

/** Settles once the first calibration is done (or failed). */
export const ready = calibrate();
setInterval(calibrate, EVERY_MS);

window.omsClock = { now, calibrate, ready };
