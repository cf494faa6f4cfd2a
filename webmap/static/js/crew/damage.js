/*
 * Damage reports from the handheld (docs/handheld.md, "Report damage"): the
 * photos, made small here (a JPEG, its longer side at most PHOTO_MAX_PX,
 * drawn again in a canvas, which also leaves the camera's metadata behind),
 * and the report, queued in the outbox after its photos (outbox.js); and the
 * reports of the outages of the crew's jobs (GET /api/damage?outage=), kept
 * in IndexedDB (kv 'damage', with the user they are for) so a job shows them
 * without signal.
 */
import { kvGet, kvSet } from './idb.js';
import { showAlert } from './notices.js';
import { enqueueReport, onSent } from './outbox.js';
import { S, render } from './state.js';
import { api, setAuth, setOnline } from './status.js';
import { ASSETS, PHOTO_MAX_PX } from './vocab.js';

// What POST /api/photos takes (webmap/damage.py PHOTO_TYPES, MAX_PHOTO_BYTES).
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
const QUALITY = 0.85;

/** A photo ready to upload (a Blob), or null when this handheld cannot make one of it. */
export async function downscale(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);  // turned upright as the camera took it
  } catch {
    // A format this browser cannot draw: sent as it is, if the server takes it.
    return PHOTO_TYPES.includes(file.type) && file.size <= MAX_PHOTO_BYTES ? file : null;
  }
  const scale = Math.min(1, PHOTO_MAX_PX / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
  return blob && blob.size <= MAX_PHOTO_BYTES ? blob : null;
}

/** What a report is called in the outbox and the notices. */
export const assetLabel = (asset) => ASSETS[asset] || asset;

/** Queues a report (POST /api/damage) after its photos (Blobs); `job`: the job it is for, or null. */
export function sendReport(report, blobs, job) {
  const label = `Damage report: ${assetLabel(report.asset)}${report.outage ? ` (${report.outage})` : ''}`;
  return enqueueReport('/api/damage', 'damage', report, { job, label }, blobs);
}

/** The reports kept for the user signed in last. */
export async function loadDamage() {
  const kept = await kvGet('damage');
  if (kept?.user && kept.user === S.user?.username) S.damage = new Map(Object.entries(kept.reports));
}

let loading = null;

/** Reads again the reports of the outages of the crew's jobs (one read at a time). */
export function refreshDamage() {
  loading ??= load().finally(() => { loading = null; });
  return loading;
}

async function load() {
  const outages = [...new Set([...S.jobs.values()].map((j) => j.outage).filter(Boolean))];
  if (S.authed !== true) return;
  const found = new Map();
  try {
    for (const outage of outages) {
      const r = await api('GET', `/api/damage?outage=${encodeURIComponent(outage)}`);
      if (r.status === 401) {
        setAuth(false);
        return;
      }
      if (r.status !== 200 || !Array.isArray(r.data?.reports)) return;
      found.set(outage, r.data.reports);
    }
  } catch {
    setOnline(false);
    return;
  }
  S.damage = found;
  await kvSet('damage', { user: S.user?.username || null, reports: Object.fromEntries(found) });
  render();
}

/** The server's answer to a report: where it went (the outage found by its place, if none was named). */
onSent((item, answer) => {
  if (item.action !== 'damage' || !answer?.id) return;
  const where = answer.outage ? `under ${answer.outage}` : 'under no outage (none found around the place)';
  showAlert(`Damage report sent: ${assetLabel(answer.asset)}, ${where}.`, '', `damage:${item.id}`);
  if (!answer.outage) return;
  // Listed as sent at once, before the outage's reports are read again.
  const list = S.damage.get(answer.outage) || [];
  if (!list.some((r) => r.id === answer.id)) S.damage.set(answer.outage, [answer, ...list]);
});
