/*
 * The detail view of a job (#/job/<id>): its stage buttons, the customer and
 * outage (facts.js), the damage reported (damageview.js), the switch states
 * along the feeder, the timeline, and the forms (estimate, close-out)
 * filled in from the job: when it is opened,
 * or when it first arrives after a deep link opened its view before the job
 * was known (a first start, or a job that came in since).
 */
import { now } from '../clock.js';
import { byId, fill, h } from '../dom.js';
import { priorityAt } from '../priority.js';
import { renderJobDamage } from './damageview.js';
import { renderMap } from './directions.js';
import { renderFacts, renderPremises } from './facts.js';
import { renderList } from './list.js';
import { effectiveState, enqueue, stageStatus } from './outbox.js';
import { S } from './state.js';
import { hhmm, toInput } from './time.js';
import { STAGES, STATE_LABEL, TIMELINE } from './vocab.js';

const CONFIRM_MS = 5000;

let filled = null;  // the job the forms were filled from

export function openJob(id) {
  S.current = id;
  S.confirm = null;
  filled = null;
  byId('list-view').hidden = true;
  byId('detail-view').hidden = false;
  byId('back').hidden = false;
  byId('title').textContent = id;
  renderDetail();
  renderMap(true);
  window.scrollTo(0, 0);
}

export function closeJob() {
  S.current = null;
  byId('list-view').hidden = false;
  byId('detail-view').hidden = true;
  byId('back').hidden = true;
  byId('title').textContent = 'My jobs';
  renderList();
}

function fillForms(job) {
  filled = job.id;
  byId('estimate-form').reset();
  byId('closeout-form').reset();
  byId('co-error').textContent = '';
  byId('etr').value = toInput(job.etr);
  const o = job.outage_details || {};
  byId('co-start').value = toInput(o.started || job.stamps?.A);
  byId('co-end').value = toInput(o.restored || job.stamps?.restored) || toInput(new Date(now()).toISOString());
  if (job.device) byId('co-equipment').value = job.device;
}

const tag = (text, cls = '', attrs = {}) => h('span', { class: ['tag', cls], ...attrs }, text);

export function renderDetail() {
  const job = S.jobs.get(S.current);
  const head = byId('job-head');
  byId('job-body').hidden = !job;
  if (!job) {
    fill(head,
      h('p', { class: 'banner warn' }, `${S.current} is not in your job list any more (recalled, reassigned or closed).`),
      h('a', { class: 'btn', href: '#' }, 'Back to my jobs'));
    return;
  }
  if (filled !== job.id) fillForms(job);
  const state = effectiveState(job);
  fill(head, h('p', {},
    job.hazard ? tag('HAZARD', 'bad') : null,
    tag(job.kind === 'single_customer' ? 'Single customer' : 'Network fault'),
    tag(`${job.area_class || ''}${job.zone ? ` · ${job.zone}` : ''}`),
    tag(`priority ${Math.round(priorityAt(job, now()))}`),
    tag(STATE_LABEL[state] || state, 'ok', { id: 'job-state' })));
  renderStages(job);
  renderFacts(job);
  renderPremises(job);
  renderJobDamage(job);
  renderFeeder(job);
  renderTimeline(job);
  byId('closeout-box').hidden = !['restored', 'closed'].includes(state);
}

// ------------------------------------------------------------------ stages
function renderStages(job) {
  const box = byId('stages');
  const mine = Boolean(S.user?.crew) && S.user.crew === job.crew;
  let nextFound = false;
  fill(box, STAGES.map((stage) => {
    const st = stageStatus(job, stage);
    const cls = ['btn stage'];
    let note = '';
    if (st.kind === 'done') {
      cls.push('done');
      note = `✓ ${hhmm(st.time)}`;
    } else if (st.kind === 'pending') {
      cls.push('pending');
      note = `queued ${hhmm(st.time)} · to send`;
    } else if (!nextFound) {
      cls.push('next');
      nextFound = true;
    }
    if (S.confirm === stage.action) {
      cls.push('confirm');
      note = 'Tap again to confirm';
    }
    return h('button', {
      class: cls,
      type: 'button',
      'data-action': stage.action,
      disabled: st.kind !== 'open' || !mine,
      onclick: () => pressStage(job.id, stage),
    }, stage.label, note ? h('small', {}, note) : null);
  }), mine ? null : h('p', { class: 'muted' }, 'Only the assigned crew can report stages.'));
}

async function pressStage(jobId, stage) {
  // Restoring re-energizes the outage: ask for a second tap.
  if (stage.action === 'restored' && S.confirm !== stage.action) {
    S.confirm = stage.action;
    renderDetail();
    setTimeout(() => {
      if (S.confirm === stage.action) {
        S.confirm = null;
        renderDetail();
      }
    }, CONFIRM_MS);
    return;
  }
  S.confirm = null;
  await enqueue(jobId, stage.action);
}

// ------------------------------------------------------------------ feeder
function renderFeeder(job) {
  const ol = byId('feeder');
  const trace = job.device ? S.feeders.get(job.device) : null;
  if (!trace) {
    fill(ol, h('li', {}, job.device ? 'Not loaded yet (needs a connection once).' : 'No device: a customer service job.'));
    return;
  }
  const source = trace.source
    ? h('li', {}, h('span', {}, `Source ${trace.source}`), h('span', { class: 'state-closed' }, 'energized'))
    : h('li', {}, h('span', {}, 'No source reaches this point'), h('span', { class: 'state-open' }, 'dead'));
  const devices = (trace.devices || []).filter((d) => d.operable || d.id === trace.element).reverse();
  fill(ol, source, devices.map((d) => h('li', { 'data-device': d.id },
    h('span', {}, `${d.id} · ${d.kind}${d.id === trace.element ? ' (this job)' : ''}`),
    h('span', { class: `state-${d.state}` },
      d.state + (d.state !== d.normal_state ? ` (normally ${d.normal_state})` : '')))));
}

function fact(dl, label, value) {
  dl.append(h('dt', {}, label), h('dd', {}, value));
}

function renderTimeline(job) {
  const dl = fill(byId('timeline'));
  const s = job.stamps || {};
  for (const [k, label] of TIMELINE) if (s[k]) fact(dl, label, hhmm(s[k]));
  const t = job.targets || {};
  if (t.arrival) fact(dl, 'Arrival target', `${t.arrival} min from report`);
  if (job.breaches?.length) fact(dl, 'Late', h('span', { class: 'error' }, job.breaches.join(', ')));
}

/** The detail view, when a job is open (for the page's redraw). */
export function detailIfOpen() {
  if (S.current) renderDetail();
}
