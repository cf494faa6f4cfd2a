/*
 * The map data of each job, kept with the job for a start without signal:
 * the network (GET /map/network.geojson, lines by state as operated) and
 * the network's own roads and zones (GET /map/basemap.geojson) in a small
 * box around the job and, when it is near, the crew. Both routes are open
 * to crews. Kept in IndexedDB ('map:<job>' in kv) and fetched again when
 * the box moved or the copy is older than REFRESH_MS (switching changes
 * the states; the answers carry ETags, so an unchanged one costs a 304).
 */
import { idbDelete, kvGet, kvSet } from './idb.js';
import { metres } from './geo.js';
import { S } from './state.js';
import { api } from './status.js';

const AROUND_M = 700;        // the box reaches this far around the job ...
const CREW_NEAR_M = 3000;    // ... and takes in the crew when it is this close
const ZOOM = 16;             // edge by edge (webmap/layers.py DETAIL_ZOOM), side streets too
const REFRESH_MS = 5 * 60000;

const key = (jobId) => `map:${jobId}`;
const round = (v) => Math.round(v * 1000) / 1000;  // about 100 m: small moves keep the box

/** The box [minlon, minlat, maxlon, maxlat] around `job` (and `crew`, when near). */
export function jobBox(job, crew) {
  const target = { lon: Number(job.lon), lat: Number(job.lat) };
  const pts = [target];
  if (crew && metres(crew, target) <= CREW_NEAR_M) pts.push(crew);
  const dlat = AROUND_M / 111320;
  const dlon = dlat / Math.max(Math.cos(target.lat * Math.PI / 180), 0.01);
  return [
    round(Math.min(...pts.map((p) => p.lon)) - dlon),
    round(Math.min(...pts.map((p) => p.lat)) - dlat),
    round(Math.max(...pts.map((p) => p.lon)) + dlon),
    round(Math.max(...pts.map((p) => p.lat)) + dlat),
  ];
}

/** What was kept for the jobs in S.jobs (at start, before any signal). */
export async function loadMaps() {
  const kept = await Promise.all([...S.jobs.keys()].map((id) => kvGet(key(id))));
  for (const entry of kept) if (entry) S.maps.set(entry.job, entry);
}

async function fetchMap(job, bbox) {
  const q = `bbox=${bbox.join(',')}&zoom=${ZOOM}`;
  const [net, base] = await Promise.all([
    api('GET', `/map/network.geojson?${q}`),
    api('GET', `/map/basemap.geojson?${q}`),
  ]);
  if (net.status !== 200 || base.status !== 200) return null;
  return { job: job.id, device: job.device || null, bbox, network: net.data, basemap: base.data, fetched: Date.now() };
}

/**
 * Brings each job's map up to date (`crew`: the crew's position, or null)
 * and forgets the maps of jobs no longer in the list. Offline, the kept
 * ones stay. Returns whether any changed.
 */
export async function refreshMaps(jobs, crew) {
  let changed = false;
  for (const job of jobs) {
    if (!Number.isFinite(Number(job.lon)) || !Number.isFinite(Number(job.lat))) continue;
    const bbox = jobBox(job, crew);
    const had = S.maps.get(job.id);
    const fresh = had && had.bbox.join() === bbox.join() && had.device === (job.device || null) &&
      Date.now() - had.fetched < REFRESH_MS;
    if (fresh) continue;
    let entry;
    try {
      entry = await fetchMap(job, bbox);
    } catch {
      break;  // offline: keep what we have
    }
    if (!entry) continue;
    S.maps.set(job.id, entry);
    await kvSet(key(job.id), entry);
    changed = true;
  }
  const wanted = new Set(jobs.map((j) => j.id));
  for (const id of [...S.maps.keys()]) {
    if (wanted.has(id)) continue;
    S.maps.delete(id);
    await idbDelete('kv', key(id));
  }
  return changed;
}
