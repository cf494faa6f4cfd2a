/*
 * The damage report form (#/damage; #/damage/<job> from a job's detail, for
 * the job's outage) and the damage shown in a job's detail.
 *
 * The form: the damaged asset, the estimated repair time, the skills the
 * repair needs, materials (one a line), a note, the place (the GPS
 * position, else the job's, editable) and photos from the camera, made
 * small as they are taken (damage.js). Sent, it goes through the outbox
 * (photos first), so it works without signal; the job's detail lists it as
 * queued until it is sent, then with the reports of the outage the server
 * has, their repair time added up and the job's estimate.
 */
import { byId, fill, h } from '../dom.js';
import { assetLabel, downscale, sendReport } from './damage.js';
import { position } from './gps.js';
import { S } from './state.js';
import { hhmm } from './time.js';
import { ASSETS, MAX_PHOTOS, MAX_REPAIR_MIN, SKILLS } from './vocab.js';

const MAX_MATERIALS = 50;
const enc = encodeURIComponent;

const form = {
  job: null,        // the job the report is for (null: none)
  photos: [],       // {blob, url}
  busy: 0,          // photos being made small
  edited: false,    // the crew typed a place: a later GPS fix does not replace it
  asked: 0,         // the GPS request of the latest opening
};

/** Shows the form for job `target` ('' for none), or hides it (null). */
export function showDamage(target) {
  byId('damage-view').hidden = target === null;
  const back = byId('back');
  back.textContent = target ? '‹ Job' : '‹ Jobs';
  back.setAttribute('aria-label', target ? 'Back to the job' : 'Back to my jobs');
  if (target === null) return;
  byId('list-view').hidden = true;
  back.hidden = false;
  byId('title').textContent = 'Report damage';
  reset(target || null);
  window.scrollTo(0, 0);
}

function reset(job) {
  form.job = job;
  byId('damage-form').reset();
  clearPhotos();
  say('');
  const o = job ? S.jobs.get(job)?.outage : null;
  byId('dmg-for').textContent = job
    ? `For ${job}${o ? ` (outage ${o})` : ''}: it adds to the job's repair time and estimate.`
    : 'For no job: the server puts it under the outage around the place, if there is one.';
  form.edited = false;
  const at = S.jobs.get(job);
  if (S.pos) place(S.pos, 'gps');
  else if (at && at.lon !== null && at.lon !== undefined) place(at, 'job');
  else place(null, 'none');
  const asked = ++form.asked;
  position().then((pos) => {
    if (pos && asked === form.asked && !form.edited) place(pos, 'gps');
  });
}

/** Fills in the place: from the GPS, the job, or nothing yet. */
function place(pos, source) {
  byId('dmg-lat').value = pos ? pos.lat.toFixed(6) : '';
  byId('dmg-lon').value = pos ? pos.lon.toFixed(6) : '';
  const where = byId('dmg-where');
  where.dataset.source = source;
  where.textContent = {
    gps: `Your GPS position${pos?.time ? ` (fix ${hhmm(pos.time)})` : ''}. Change it if the damage is elsewhere.`,
    job: 'The job’s place (no GPS fix yet). Change it to where the damage is.',
    none: 'No GPS fix: type the place, or try “Use my position” again.',
  }[source];
}

const say = (text) => { byId('dmg-error').textContent = text; };

// ------------------------------------------------------------------ photos
function clearPhotos() {
  for (const p of form.photos) URL.revokeObjectURL(p.url);
  form.photos = [];
  renderPhotos();
}

async function addPhotos(ev) {
  const files = [...ev.target.files];
  ev.target.value = '';  // the same photo may be chosen again after removing it
  for (const file of files) {
    if (form.photos.length + form.busy >= MAX_PHOTOS) {
      say(`At most ${MAX_PHOTOS} photos a report.`);
      break;
    }
    form.busy += 1;
    renderPhotos();
    const blob = await downscale(file).catch(() => null);
    form.busy -= 1;
    if (blob) form.photos.push({ blob, url: URL.createObjectURL(blob) });
    else say(`${file.name || 'That file'}: not a photo this handheld can send (JPEG, PNG or WebP).`);
    renderPhotos();
  }
}

function renderPhotos() {
  fill(byId('dmg-photos'), form.photos.map((p, i) => h('li', { 'data-photo': i },
    h('img', { src: p.url, alt: `Photo ${i + 1}` }),
    h('span', { class: 'muted' }, `${Math.max(1, Math.round(p.blob.size / 1024))} kB`),
    h('button', {
      class: 'btn small', type: 'button', onclick: () => {
        URL.revokeObjectURL(p.url);
        form.photos = form.photos.filter((x) => x !== p);
        renderPhotos();
      },
    }, 'Remove'))),
  form.busy ? h('li', { class: 'muted', 'data-busy': '' }, 'Preparing photo…') : null);
  byId('dmg-send').disabled = form.busy > 0;
}

// ------------------------------------------------------------------ sending
/** The report the form holds, or a sentence saying what is missing. */
function read(f) {
  if (!f.asset.value) return 'Choose the damaged asset.';
  if (f.hours.value === '' && f.minutes.value === '') return 'Give the estimated repair time.';
  const minutes = Math.round(Number(f.hours.value || 0) * 60 + Number(f.minutes.value || 0));
  if (!(minutes >= 0 && minutes <= MAX_REPAIR_MIN)) return 'The repair time is 0 to 168 hours.';
  const lon = Number(f.lon.value);
  const lat = Number(f.lat.value);
  if (f.lon.value === '' || f.lat.value === '' || !(Math.abs(lon) <= 180 && Math.abs(lat) <= 90)) {
    return 'Give the place: latitude (±90) and longitude (±180).';
  }
  const materials = f.materials.value.split(/\r?\n/).map((m) => m.trim()).filter(Boolean);
  if (materials.length > MAX_MATERIALS) return `At most ${MAX_MATERIALS} lines of materials.`;
  const outage = form.job ? S.jobs.get(form.job)?.outage : null;
  const note = f.note.value.trim();
  return {
    lon, lat, asset: f.asset.value, repair_minutes: minutes,
    skills: [...f.querySelectorAll('input[name=skill]:checked')].map((x) => x.value),
    materials, ...(note ? { note } : {}), ...(outage ? { outage } : {}),
  };
}

async function submit(ev) {
  ev.preventDefault();
  if (form.busy) return say('Wait until the photos are ready.');
  const report = read(ev.target);
  if (typeof report === 'string') return say(report);
  const job = form.job;
  await sendReport(report, form.photos.map((p) => p.blob), job);
  clearPhotos();
  location.hash = job ? `#/job/${enc(job)}` : '';
}

export function wireDamage() {
  fill(byId('dmg-asset'), h('option', { value: '' }, 'Choose…'),
    Object.entries(ASSETS).map(([value, label]) => h('option', { value }, label)));
  fill(byId('dmg-skills'), h('legend', {}, 'Crew needed (skills)'),
    SKILLS.map((s) => h('label', {}, h('input', { type: 'checkbox', name: 'skill', value: s }), ` ${s}`)));
  byId('damage-form').addEventListener('submit', submit);
  byId('dmg-photo').addEventListener('change', addPhotos);
  for (const id of ['dmg-lat', 'dmg-lon']) byId(id).addEventListener('input', () => { form.edited = true; });
  byId('dmg-locate').addEventListener('click', async () => {
    const asked = ++form.asked;
    byId('dmg-where').textContent = 'Locating…';
    const pos = await position();
    if (asked !== form.asked) return;
    form.edited = false;
    if (pos) place(pos, 'gps');
    else place(null, 'none');
  });
}

// ------------------------------------------------------------------ a job's damage
/** "3 h 30 min" */
function duration(minutes) {
  const hrs = Math.floor(minutes / 60);
  const min = Math.round(minutes % 60);
  return [hrs ? `${hrs} h` : '', min || !hrs ? `${min} min` : ''].filter(Boolean).join(' ');
}

function row(r, state, photos) {
  const status = {
    queued: `queued ${hhmm(r.time)} · to send`,
    refused: 'Not applied (reason above)',
    sent: `✓ ${hhmm(r.time)}${r.crew ? ` · crew ${r.crew}` : r.user ? ` · ${r.user}` : ''}`,
  }[state];
  const facts = [`repair ${duration(r.repair_minutes)}`, r.skills?.length ? `needs ${r.skills.join(', ')}` : '',
    photos ? `${photos} photo${photos > 1 ? 's' : ''}` : ''];
  return h('li', { class: ['damage', state], 'data-damage': r.id, 'data-state': state },
    h('div', { class: 'top' }, h('strong', {}, assetLabel(r.asset)), h('span', { class: 'status' }, status)),
    h('div', { class: 'sub' }, facts.filter(Boolean).join(' · ')),
    r.materials?.length ? h('div', { class: 'sub' }, `Materials: ${r.materials.join(', ')}`) : null,
    r.note ? h('div', { class: 'sub' }, r.note) : null);
}

/** The job's damage: this handheld's reports not sent yet, then its outage's reports. */
export function renderJobDamage(job) {
  byId('damage-report').setAttribute('href', `#/damage/${enc(job.id)}`);
  const mine = S.outbox.filter((i) => i.action === 'damage' && i.job === job.id);
  const sent = (job.outage && S.damage.get(job.outage)) || [];
  const total = sent.reduce((sum, r) => sum + Number(r.repair_minutes || 0), 0);
  fill(byId('damage-list'),
    mine.map((i) => row(i.body, i.status === 'queued' ? 'queued' : 'refused', i.photoRefs.length)),
    sent.map((r) => row(r, 'sent', (r.photos || []).length)),
    mine.length || sent.length ? null : h('li', { class: 'muted' }, 'No damage reported yet.'));
  const line = byId('damage-total');
  line.hidden = !sent.length;
  line.textContent = sent.length
    ? `Repair ${duration(total)} in all · the job's estimate ${hhmm(job.etr)}` +
      `${job.etr_source === 'assessed' ? ' (from the assessment)' : ''}`
    : '';
}
