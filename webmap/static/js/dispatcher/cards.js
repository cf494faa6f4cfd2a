/*
 * The cards of the side panel: jobs, outages, crews and alerts.
 *
 * Each card carries its item's id (data-job, data-outage, data-crew,
 * data-alert and data-alert-job) and its action buttons (data-act);
 * panel.js handles the clicks and keeps each card in place while its item
 * is listed (keyed.js). The countdowns are filled in by countdown.js, the
 * ages (data-age) by panel.js.
 */
import { h } from '../dom.js';
import { priorityAt } from '../priority.js';
import { POLICIES } from '../storm.js';
import { ACTIVE, CREW_COLORS, CREW_COLOR_UNKNOWN, SEG_NAMES, canDispatch } from './config.js';
import { countdown, mainClock, runningSegment, severity } from './countdown.js';
import { LEVEL_NAMES, outagePlaces } from './filters.js';
import { fmtAge, fmtTime, human, plural } from './format.js';
import { store, ui } from './state.js';

/** "12 min" since `iso`, kept current by panel.js (data-age). */
export const age = (iso) => h('span', { class: 'age', 'data-age': iso || null }, fmtAge(iso));

/** The job of an outage (the panel's copy), or null. */
export function jobOf(outageId) {
  let found = null;
  for (const j of store.jobs.values()) if (j.outage === outageId) found = j;
  return found;
}

const mainCountdown = (main) => countdown(main, main ? (main.name === 'arrival' ? 'arrive' : 'restore') : '', false);
const badge = (cls, ...text) => h('span', { class: ['badge', cls] }, ...text);

export function jobCard(j, t) {
  const sev = severity(j, t);
  const prio = priorityAt(j, t);
  const seg = runningSegment(j);
  const crew = j.crew ? store.crews.get(j.crew) : null;
  const o = j.outage ? store.outages.get(j.outage) : null;
  const out = o
    ? [h('b', {}, o.customers_out), ' out', o.critical_out ? [' · ', h('b', {}, o.critical_out), ' critical'] : null]
    : null;
  const tags = (j.breaches || []).map((b) => h('span', { class: 'tag breach', title: 'target breached' }, b));
  let act = null;
  if (canDispatch && j.state === 'waiting') {
    act = h('button', { class: 'btn primary act-assign', 'data-act': 'assign' }, 'Assign…');
  } else if (canDispatch && j.crew) {
    act = h('button', {
      class: 'btn act-recall', 'data-act': 'recall', title: 'Take the job back; then assign another crew',
    }, 'Recall…');
  }
  return h('article', {
    class: ['card job', sev.cls, ui.selected === `j:${j.id}` && 'selected'], 'data-job': j.id, ...sev.attrs,
  },
  h('header', {},
    h('span', { class: ['prio', prio >= 500 && 'high'], title: 'priority' }, Math.round(prio)),
    h('span', { class: 'id' }, j.id),
    badge(j.state, human(j.state)),
    j.hazard ? badge('hazard', 'hazard') : null,
    mainCountdown(mainClock(j))),
  h('div', { class: 'meta' },
    j.device ? j.device : `customer ${j.customer}`, out ? [' · ', out] : null,
    ` · ${j.area_class || ''}`, j.zone ? ` ${j.zone}` : '', j.unit ? ` · ${j.unit}` : '',
    ' · ', age(j.stamps.A)),
  seg || tags.length
    ? h('div', { class: 'seg' }, seg ? [`${seg.name} ${SEG_NAMES[seg.name]} `, countdown(seg, 'due', true)] : null, tags)
    : null,
  h('footer', {},
    h('span', { class: 'crew' },
      j.crew ? ['Crew ', h('b', {}, j.crew), crew ? ` · ${human(crew.status)}` : ''] : 'No crew'),
    act));
}

function outageButtons(o, active, picked) {
  const button = (act, label, primary) => h('button', { class: ['btn', primary && 'primary'], 'data-act': act }, label);
  const network = o.kind === 'network';
  return [
    canDispatch && active ? button('confirm', 'Confirm…', o.state === 'predicted') : null,
    canDispatch && active && network ? [button('merge', 'Merge…'), button('split', 'Split…')] : null,
    network && o.device && active ? button('plan', 'Plan') : null,
    canDispatch && active ? button('restore', 'Restored…') : null,
    canDispatch && o.state === 'restored' ? button('close', 'Close', true) : null,
    canDispatch && o.state === 'restored'
      ? h('label', { class: 'pick', title: 'Tick to close several at once' },
        h('input', { type: 'checkbox', 'data-act': 'pick', checked: picked }), ' select')
      : null,
  ];
}

/** An outage's card; `j` its job (default: looked up), `picked` ticked for a bulk close. */
export function outageCard(o, t, j = jobOf(o.id), picked = false) {
  const sev = j ? severity(j, t) : { cls: o.state === 'restored' ? 'sev-ok' : 'sev-warn', attrs: {} };
  const active = ACTIVE.has(o.state);
  const zone = j?.zone ?? o.zone ?? outagePlaces.get(o.id)?.zone;
  return h('article', {
    class: ['card outage', sev.cls, !active && 'muted', ui.selected === `o:${o.id}` && 'selected'],
    'data-outage': o.id,
    ...sev.attrs,
  },
  h('header', {},
    h('span', { class: 'id' }, o.id),
    badge(o.state, o.state, o.confirmed_by ? ` · ${o.confirmed_by}` : ''),
    o.hazard ? badge('hazard', 'hazard') : null,
    o.critical_out ? badge('critical', `${o.critical_out} critical`) : null,
    mainCountdown(j ? mainClock(j) : null)),
  h('div', { class: 'meta' },
    o.device ? h('b', {}, o.device) : ['customer ', h('b', {}, o.customer)],
    ' · ', h('b', {}, o.customers_out), ` out · ${plural(o.calls, 'call')}`,
    o.section?.length ? ` · section ${o.section.join(', ')}` : '', zone ? ` · zone ${zone}` : ''),
  h('div', { class: 'meta' },
    `since ${fmtTime(o.started)} (`, age(o.started), ')',
    o.etr ? ` · ETR ${fmtTime(o.etr)}` : '',
    j ? ` · ${j.id}${j.crew ? ` → ${j.crew}` : ''}` : '',
    o.state === 'restored' ? ` · restored ${fmtTime(o.restored)}` : ''),
  h('footer', {}, outageButtons(o, active, picked)));
}

export function crewCard(c) {
  const color = CREW_COLORS[c.status] || CREW_COLOR_UNKNOWN;
  return h('article', {
    class: ['card crew', ui.selected === `c:${c.id}` && 'selected'], 'data-crew': c.id, style: { borderLeftColor: color },
  },
  h('header', {},
    h('span', { class: 'crew-dot', style: { background: color } }),
    h('span', { class: 'id' }, c.id), h('span', {}, c.name || ''),
    h('span', { class: 'spacer' }), c.expected
      ? h('span', { class: 'tag', 'data-expected': '1', title: 'Not dispatched before it checks in' },
        `expected ${fmtTime(c.arrival)}`)
      : badge(null, human(c.status))),
  c.company ? h('div', { class: 'meta' }, `${c.company}`,
    c.size ? ` · ${c.size} people` : '', c.vehicles ? ` · ${c.vehicles} vehicles` : '',
    c.home_base ? ` · from ${c.home_base}` : '') : null,
  h('div', { class: 'meta' },
    c.unit || '', c.zone ? ` · zone ${c.zone}` : '', ` · ${(c.skills || []).join(', ')}`),
  h('div', { class: 'meta' },
    c.jobs?.length ? ['Jobs ', h('b', {}, c.jobs.join(', ')), ' · '] : null,
    c.gps_time
      ? [`GPS ${fmtTime(c.gps_time)}`, c.stale ? [' ', h('span', { class: 'tag breach' }, 'stale')] : null]
      : 'at base'));
}

/** The public commitments (oms/engine/alerts.py STANDARD): passing one is a breach. */
const COMMITMENTS = { arrival: 'Arrival', restoration: 'Restoration' };
/** A target's name as the dispatcher reads it: "Arrival", "AB issue". */
const targetName = (t) => COMMITMENTS[t] || (SEG_NAMES[t] ? `${t} ${SEG_NAMES[t]}` : String(t ?? ''));
/** " (45 min)": the job's limit for target `t` (the job's own targets), when the job is known. */
function limitOf(jobId, t) {
  const minutes = store.jobs.get(jobId)?.targets?.[t];
  return typeof minutes === 'number' ? ` (${Math.round(minutes)} min)` : '';
}

/**
 * What an alert says happened, in words that match its level: a segment's
 * limit passed is a target reached ("AB limit passed (2 min)"), the arrival
 * or restoration commitment passed is a breach ("Arrival commitment breached
 * (45 min)"), a warning says how much of the limit is used.
 */
export function alertHeadline(a) {
  const d = a.detail || {};
  const t = d.target;
  switch (a.kind) {
    case 'breach':
      return a.level === 'breach' && COMMITMENTS[t]
        ? `${COMMITMENTS[t]} commitment breached${limitOf(a.job, t)}`
        : `${t} limit passed${limitOf(a.job, t)}`;
    case 'warning':
      return `${targetName(t)}: ${d.share}% of its limit used${limitOf(a.job, t)}`;
    case 'etr_passed':
      return `ETR ${d.was ? `${fmtTime(d.was)} ` : ''}passed, now ${d.etr ? fmtTime(d.etr) : 'renewed'}`;
    case 'ack_timeout':
      return `Not acknowledged: ${d.waiting_for || 'order'} overdue`;
    case 'escalation':
      return `Not acknowledged: escalated to the ${human(d.notify || 'unit')}`;
    case 'capacity':
      return `No free crew for ${Math.round((d.busy_s || 0) / 60)} of the last ${Math.round((d.window_s || 0) / 60)} min`;
    case 'job_cancelled':
      return 'Job cancelled';
    case 'redirected':
      return `Crew redirected${d.to ? ` to ${d.to}` : ''}`;
    case 'recalled':
      return `Crew recalled${d.by ? ` by ${d.by}` : ''}`;
    case 'dispatch_mode':
      return `Automatic dispatch ${d.auto ? 'on' : 'off'}${d.unit ? ` for ${d.unit}` : ''}${d.by ? ` (${d.by})` : ''}`;
    case 'storm_mode': {
      const who = [d.by, d.reason].filter(Boolean).join(': ');
      const how = d.on ? `: dispatch ${POLICIES[d.dispatch] ?? d.dispatch}` : ' off';
      return `Storm mode${how}${who ? ` (${who})` : ''}`;
    }
    default: {
      const what = human(a.kind);
      return what.charAt(0).toUpperCase() + what.slice(1);
    }
  }
}

/** Where an alert belongs: "JOB-000001 · K1 · U1 · zone Z-U2". */
function alertWhere(a) {
  return [a.job, a.crew, a.unit, a.contact && `call ${a.contact}`, a.zone && `zone ${a.zone}`]
    .filter(Boolean).join(' · ');
}

/** An alert in one line: "10:04 · Arrival commitment breached (45 min) · JOB-000001 · K1". */
export function alertText(a) {
  return [fmtTime(a.time), alertHeadline(a), alertWhere(a)].filter(Boolean).join(' · ');
}

/** The alarm levels' card colours. */
const LEVEL_SEVERITY = { breach: 'sev-late', target: 'sev-warn2', warning: 'sev-warn', info: 'sev-ok' };

export function alertCard(a) {
  const done = Boolean(a.acknowledged_at);
  return h('article', {
    class: ['card alert', `lvl-${a.level}`, LEVEL_SEVERITY[a.level] || 'sev-ok', done && 'acked'],
    'data-alert': a.seq ?? null,
    'data-alert-job': a.job || null,
  },
  h('header', {},
    h('span', { class: 'id' }, alertHeadline(a)), badge(`lvl-${a.level}`, LEVEL_NAMES[a.level] || a.level),
    h('span', { class: 'spacer' }), h('span', { class: 'num' }, fmtTime(a.time))),
  h('div', { class: 'meta' }, [fmtTime(a.time), alertWhere(a)].filter(Boolean).join(' · ')),
  h('footer', {},
    done
      ? h('span', { class: 'ack-by', title: a.acknowledged_at }, `✓ ${a.acknowledged_by} ${fmtTime(a.acknowledged_at)}`)
      : canDispatch && a.seq ? h('button', { class: 'btn act-ack', 'data-act': 'ack' }, 'Acknowledge') : null));
}
