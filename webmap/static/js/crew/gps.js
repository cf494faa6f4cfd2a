/*
 * The shift and the crew's position. On shift, the handheld watches the GPS
 * and sends a fix at most once a minute, or every 15 s while moving more
 * than 100 m; offline, only the latest fix waits (older ones are
 * superseded, not queued). Starting or ending a shift is an outbox action.
 * A mutual-aid crew expected but not checked in yet starts with "Check in":
 * its position goes with it (crew_checkin, queued like any action), and it
 * may be dispatched from then on.
 * The crew's status line (#crew-status) is its last known record, kept on
 * the handheld, or the status it sent last and that waits to be sent.
 * position() is where the handheld is for what the crew reports (a
 * switching step, damage): a recent fix, else one asked for.
 */
import { now } from '../clock.js';
import { byId } from '../dom.js';
import { renderMap } from './directions.js';
import { metres } from './geo.js';
import { eventId } from './ids.js';
import { kvSet } from './idb.js';
import { enqueue, onRefused, onSent } from './outbox.js';
import { S } from './state.js';
import { api, setAuth, setOnline } from './status.js';
import { hhmm, isoLocal } from './time.js';
import { CREW_STATUS_LABEL, GPS_MIN_S, GPS_MOVED_M, GPS_MOVED_S } from './vocab.js';

const GPS_FRESH_MS = 120000;  // a fix this recent is where the crew is
const GPS_WAIT_MS = 5000;     // else one fix is asked for, this long at most

let watchId = null;
let lastSent = null;   // {lon, lat, t}
let unsent = null;     // the latest fix not sent yet (offline)

/** Expected on arrival and not checked in (nor a check-in waiting to be sent). */
function awaitingCheckIn() {
  return Boolean(S.crew?.expected) && !S.outbox.some((i) => i.action === 'checkin');
}

export function renderShift() {
  const btn = byId('shift-btn');
  const mine = Boolean(S.user?.crew);
  btn.hidden = !mine;
  const arriving = mine && awaitingCheckIn();
  btn.dataset.checkin = arriving ? '1' : '';
  btn.textContent = arriving ? 'Check in (we have arrived)' : S.shift ? 'End shift' : 'Start shift';
  btn.setAttribute('aria-pressed', S.shift ? 'true' : 'false');
  const gps = byId('gps-status');
  if (!mine) gps.textContent = '';
  else if (arriving) gps.textContent = 'Expected: check in on arrival, then you can be sent jobs.';
  else if (!S.shift) gps.textContent = 'Off shift: your position is not shared.';
  else if (!('geolocation' in navigator)) gps.textContent = 'This device has no GPS.';
  else if (S.pos) gps.textContent = `Sharing position (last fix ${hhmm(S.pos.time)}).`;
  else gps.textContent = 'Waiting for a GPS fix…';
  renderCrewStatus(mine);
}

function renderCrewStatus(mine) {
  const line = byId('crew-status');
  const sent = S.outbox.filter((i) => i.action === 'status' && i.status === 'queued').pop();
  const status = sent ? sent.body.status : S.crew?.status;
  line.hidden = !mine || !status;
  if (line.hidden) return;
  line.dataset.status = status;
  const label = CREW_STATUS_LABEL[status] || status;
  line.textContent = sent ? `Crew status: ${label} (waiting to send)`
    : `Crew status: ${label}${S.online ? '' : ' (last known)'}`;
}

export async function toggleShift() {
  if (awaitingCheckIn()) {
    await checkIn();
    return;
  }
  S.shift = !S.shift;
  S.shiftKnown = true;
  await kvSet('shift', S.shift);
  // Only an off-shift crew becomes available; one holding jobs keeps its status.
  if (!S.shift) await enqueue(null, 'status', { status: 'off_shift' });
  else if (!S.crew || S.crew.status === 'off_shift') await enqueue(null, 'status', { status: 'available' });
  startGps();
  renderShift();
}

// Off shift refused (the crew still holds a job): it is on shift still, and shares its
// position; the refusal and its reason are listed with the others.
onRefused(async (item) => {
  if (item.action !== 'status' || item.body?.status !== 'off_shift' || S.shift) return;
  S.shift = true;
  await kvSet('shift', S.shift);
  startGps();
  renderShift();
});

// Checked in: no longer expected, without waiting for the crew record to be read again.
onSent((item) => {
  if (item.action === 'checkin' && S.crew) {
    S.crew.expected = false;
    renderShift();
  }
});

/** A mutual-aid crew arrived: check in with its position, then it is on shift. */
async function checkIn() {
  const here = await position();
  if (!here) {
    byId('gps-status').textContent = 'Check-in needs your position: allow the GPS and try again.';
    return;
  }
  await enqueue(null, 'checkin', { lon: here.lon, lat: here.lat });
  S.shift = true;
  S.shiftKnown = true;
  await kvSet('shift', S.shift);
  startGps();
  renderShift();
}

/** Watches the GPS while on shift (and stops watching off shift). */
export function startGps() {
  if (!('geolocation' in navigator)) return;
  if (S.shift && watchId === null && S.user?.crew) {
    watchId = navigator.geolocation.watchPosition(onFix, (err) => {
      byId('gps-status').textContent = `GPS: ${err.message || 'not available'}`;
    }, { enableHighAccuracy: true, maximumAge: 15000, timeout: 60000 });
  } else if (!S.shift && watchId !== null) {
    navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }
}

function onFix(p) {
  const fix = { lon: p.coords.longitude, lat: p.coords.latitude, time: isoLocal(new Date(now())) };
  S.pos = fix;
  renderShift();
  if (S.current) renderMap(false);
  const t = Date.now();
  const since = lastSent ? (t - lastSent.t) / 1000 : Infinity;
  const moved = lastSent ? metres(lastSent, fix) : Infinity;
  if (since >= GPS_MIN_S || (since >= GPS_MOVED_S && moved >= GPS_MOVED_M)) {
    unsent = { lon: fix.lon, lat: fix.lat, time: fix.time, id: eventId('gps') };
    lastSent = { lon: fix.lon, lat: fix.lat, t };
    sendGps();
  }
}

/** Sends the latest unsent fix, if any. */
export async function sendGps() {
  if (!unsent || !S.user?.crew || S.authed !== true) return;
  const fix = unsent;
  try {
    const r = await api('POST', `/api/crews/${encodeURIComponent(S.user.crew)}/gps`, fix);
    setOnline(true);
    if (r.status === 401) {
      setAuth(false);
      return;
    }
    if (unsent === fix) unsent = null;
  } catch {
    setOnline(false);
  }
}

/** Where the handheld is: a recent fix, else one asked for now (null without one). */
export function position() {
  if (S.pos && now() - new Date(S.pos.time).getTime() < GPS_FRESH_MS) return Promise.resolve(S.pos);
  if (!('geolocation' in navigator)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const give = (pos) => {
      clearTimeout(timer);
      resolve(pos);
    };
    const timer = setTimeout(() => give(null), GPS_WAIT_MS);
    navigator.geolocation.getCurrentPosition(
      (p) => give({ lon: p.coords.longitude, lat: p.coords.latitude, time: isoLocal(new Date(now())) }),
      () => give(null),
      { enableHighAccuracy: true, maximumAge: GPS_FRESH_MS, timeout: GPS_WAIT_MS },
    );
  });
}
