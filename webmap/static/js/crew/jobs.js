/*
 * The crew's jobs: GET /api/jobs?open=1 and each job's details, the feeder
 * trace above each job's device, each job's map data (jobmap.js) and the
 * crew's own record, all kept in IndexedDB so a restart without signal
 * still shows the crew its work and its shift. A job that left the list
 * (recalled, reassigned) is pointed out once. "Jobs as of" is stamped by
 * the server's clock once this page has read it (clock.js), so it compares
 * with the same clock it is shown against.
 */
import { auth } from '../api.js';
import { now, ready } from '../clock.js';
import { afterPress } from '../dom.js';
import { renderDetail } from './detail.js';
import { crewPos, renderMap } from './directions.js';
import { renderShift, startGps } from './gps.js';
import { newDeviceId } from './ids.js';
import { idbAll, kvGet, kvSet, tx } from './idb.js';
import { loadMaps, refreshMaps } from './jobmap.js';
import { showAlert } from './notices.js';
import { enqueue, loadOutbox } from './outbox.js';
import { S, render } from './state.js';
import { api, setAuth, setOnline } from './status.js';

/** What the handheld kept from last time: jobs, session, token, device id, feeders, maps, shift, outbox. */
export async function loadCached() {
  const [jobs, order, synced, session, token, device, feeders, shift, crew] = await Promise.all([
    idbAll('jobs'), kvGet('jobs:order'), kvGet('jobs:synced'), kvGet('session'),
    kvGet('token'), kvGet('device'), kvGet('feeders'), kvGet('shift'), kvGet('crew'),
  ]);
  for (const j of jobs || []) S.jobs.set(j.id, j);
  S.order = order || (jobs || []).map((j) => j.id);
  S.synced = synced || null;
  if (session) S.user = session.user;
  auth.token = token || null;
  S.device = device || null;
  if (!S.device) {
    S.device = newDeviceId();
    await kvSet('device', S.device);
  }
  for (const [k, v] of Object.entries(feeders || {})) S.feeders.set(k, v);
  S.crew = crew || null;
  S.shiftKnown = shift === true || shift === false;
  // Never set on this handheld: the crew's last known status says (a restart
  // without signal must not show a crew at work as off shift).
  S.shift = S.shiftKnown ? shift : Boolean(S.crew && S.crew.status !== 'off_shift');
  await loadMaps();
  await loadOutbox();
}

let refreshing = null;
let again = false;

/** Reloads the jobs (one load at a time; a call during one runs another after it). */
export function refreshJobs() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = load().finally(() => {
    refreshing = null;
    if (again) {
      again = false;
      refreshJobs();
    }
  });
  return refreshing;
}

async function details(j) {
  try {
    const d = await api('GET', `/api/jobs/${encodeURIComponent(j.id)}`);
    return d.status === 200 && d.data ? d.data : j;
  } catch {
    return S.jobs.get(j.id) || j;
  }
}

function noticeLost(ids) {
  for (const old of S.jobs.values()) {
    if (!ids.has(old.id) && !S.closed.has(old.id) && !S.noticed.has(old.id) &&
        S.user?.crew && old.crew === S.user.crew) {
      S.noticed.add(old.id);
      showAlert(`${old.id} is no longer assigned to you (recalled, reassigned or closed).`, 'warn', `lost:${old.id}`);
    }
  }
}

async function load() {
  let r;
  try {
    r = await api('GET', '/api/jobs?open=1');
  } catch {
    setOnline(false);
    return;
  }
  setOnline(true);
  if (r.status === 401) {
    setAuth(false);
    return;
  }
  if (r.status !== 200 || !Array.isArray(r.data)) return;
  const jobs = await Promise.all(r.data.map(details));
  noticeLost(new Set(jobs.map((j) => j.id)));
  await tx('jobs', 'readwrite', (s) => {
    s.clear();
    let last = null;
    for (const j of jobs) last = s.put(j);
    return last;
  });
  S.jobs = new Map(jobs.map((j) => [j.id, j]));
  S.order = jobs.map((j) => j.id);
  await kvSet('jobs:order', S.order);
  render();
  // Stamped once this page has read the server's clock: on a first start, or
  // with a calibration kept from an earlier run, now() is not its time yet.
  await ready;
  S.synced = new Date(now()).toISOString();  // the server's clock, as ago() reads it
  await kvSet('jobs:synced', S.synced);
  render();
  await loadFeeders(jobs);
  await loadCrew();
  if (await refreshMaps(jobs, crewPos()) && S.current) renderMap(true);
  for (const j of jobs) await autoDeliver(j);
}

/** The switch states along the feeder above each job's device. */
async function loadFeeders(jobs) {
  const wanted = new Set(jobs.map((j) => j.device).filter(Boolean));
  const kept = {};
  for (const device of wanted) {
    try {
      const r = await api('GET', `/api/crew/feeder?element=${encodeURIComponent(device)}`);
      if (r.status === 200 && r.data) S.feeders.set(device, r.data);
    } catch {
      break;
    }
    if (S.feeders.has(device)) kept[device] = S.feeders.get(device);
  }
  await kvSet('feeders', kept);
  if (S.current) afterPress(renderDetail);
}

/** The crew's own record (status, last position); the first one tells whether it is on shift. */
async function loadCrew() {
  if (!S.user?.crew) return;
  try {
    const r = await api('GET', '/api/crews');
    if (r.status === 200 && Array.isArray(r.data)) {
      S.crew = r.data.find((c) => c.id === S.user.crew) || null;
      await kvSet('crew', S.crew);
      if (!S.shiftKnown && S.crew) {
        S.shift = S.crew.status !== 'off_shift';
        S.shiftKnown = true;
        startGps();
      }
      afterPress(renderShift);
      if (S.current) renderMap();
    }
  } catch { /* offline: keep what we had */ }
}

/** The handheld confirms delivery (stamp E) once per dispatch of a job. */
async function autoDeliver(job) {
  if (!S.user || S.user.crew !== job.crew || job.state !== 'dispatched') return;
  const key = `delivered:${job.id}:${job.stamps?.D || ''}`;
  if (await kvGet(key)) return;
  await kvSet(key, true);
  await enqueue(job.id, 'deliver', {}, true);
}
