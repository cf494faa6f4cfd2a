/*
 * The sections of the outage panel, from GET /api/outages/<id>/detail:
 * summary, calls, customers out (a critical one with its register
 * contacts; each with a button to its register entry: register.js), jobs
 * with their stamps, damage reported from the field (with its photos), ETR
 * history, evidence timeline, audit trail. Pure drawing: detail.js loads
 * and wires.
 */
import { h } from '../dom.js';
import { alertHeadline } from './cards.js';
import { SEG_NAMES, STAMPS, canRegister } from './config.js';
import { damageSymbol } from './damage.js';
import { fmtAge, fmtTime, human, plural } from './format.js';
import { contactLine, registerDialog } from './register.js';

/** HH:MM:SS of an ISO time, or a dash. */
function clock(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${fmtTime(iso)}:${String(d.getSeconds()).padStart(2, '0')}`;
}

function section(key, title, count, ...body) {
  return h('section', { class: 'd-section', 'data-section': key },
    h('h3', {}, title, count !== null ? h('span', { class: 'd-count' }, count) : null),
    ...body);
}

const badge = (cls, text, title) => h('span', { class: ['badge', cls], title }, text);
const none = (text) => h('p', { class: 'd-none' }, text);

/** Lists shown whole ("Show all" pressed), kept across the panel's live refreshes. */
const expanded = new Set();
const FIRST = 8;

/** The first rows of a long list (at least `first`), and a button that shows the others. */
function capped(key, rows, what, first = FIRST) {
  const shown = Math.max(first, FIRST);
  if (rows.length <= shown + 2 || expanded.has(key)) return [rows, null];
  for (const row of rows.slice(shown)) row.hidden = true;
  const more = h('button', {
    class: 'btn d-all', 'data-all': key,
    onclick: (ev) => {
      expanded.add(key);
      for (const row of rows) row.hidden = false;
      ev.currentTarget.remove();
    },
  }, `Show all ${rows.length} ${what}`);
  return [rows, more];
}

export function summary(d) {
  const o = d.outage;
  return h('div', { class: 'd-summary' },
    h('div', { class: 'd-figures' },
      figure(o.customers_out, 'customers out'),
      figure(o.critical_out, 'critical', o.critical_out ? 'alarm' : null),
      figure(o.calls, plural(o.calls, 'call').replace(/^\d+ /, '')),
      figure(d.jobs.length, d.jobs.length === 1 ? 'job' : 'jobs')),
    h('dl', { class: 'd-facts' },
      fact('Where', o.device ? `${o.device}${o.section?.length ? ` · section ${o.section.join(', ')}` : ''}`
        : `customer ${o.customer}`),
      fact('Kind', human(o.kind)),
      fact('Since', `${fmtTime(o.started)} (${fmtAge(o.started)})`),
      fact('ETR', o.etr ? fmtTime(o.etr) : 'none'),
      o.restored ? fact('Restored', fmtTime(o.restored)) : null,
      o.confirmed_by ? fact('Confirmed by', o.confirmed_by) : null,
      o.merged_into ? fact('Merged into', o.merged_into) : null,
      Object.keys(d.notices).length
        ? fact('Customers told', Object.entries(d.notices).map(([k, n]) => `${human(k)} ${n}`).join(' · '))
        : null));
}

function figure(value, label, cls) {
  return h('div', { class: ['d-figure', cls] }, h('b', {}, value), h('span', {}, label));
}

function fact(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}

export function calls(d) {
  const rows = d.calls.map((c) => h('tr', { 'data-customer': c.customer },
    h('td', { class: 'num' }, clock(c.time)),
    h('td', {}, h('b', {}, c.name || c.customer || '?'), ' ', h('span', { class: 'muted' }, c.customer || ''),
      c.critical ? [' ', badge('critical', human(c.critical))] : null),
    h('td', { class: 'num' }, c.phone || ''),
    h('td', {}, c.hazard ? [badge('hazard', human(c.hazard)), ' '] : null,
      c.power === 'on' ? badge('restored', 'power back') : null, c.note || '')));
  const [shownRows, more] = capped('calls', rows, 'calls');
  return section('calls', 'Calls', d.calls.length,
    rows.length ? h('table', { class: 'd-table' }, h('tbody', {}, shownRows)) : none('No calls.'), more);
}

/** A critical customer's emergency plan (contract 2's free text), or that none is on file. */
function emergencyPlan(plan) {
  if (!plan) return h('div', { class: 'd-plan muted' }, 'No emergency plan on file');
  return h('div', { class: 'd-plan', 'data-plan': '' }, h('b', {}, 'Emergency plan: '),
    String(plan).split(/\r?\n/).flatMap((line, i) => (i ? [h('br'), line] : [line])));
}

/** A critical customer's register contacts (tel: and mailto: links), or that none is on file. */
function registerContacts(contacts) {
  if (!contacts?.length) return h('div', { class: 'd-contacts muted' }, 'No contacts on the register');
  return h('ul', { class: 'd-contacts' }, contacts.map((c) => h('li', {}, contactLine(c))));
}

/** The register dialog of a listed customer: its entry, or a new one. */
function registerButton(x) {
  if (!canRegister) return null;
  return h('button', {
    type: 'button', class: ['btn d-register', !x.critical && 'd-register-add'], 'data-register': x.id,
    title: x.critical ? 'Reason, emergency plan, contacts, note' : 'Put this customer on the critical-customer register',
    onclick: () => registerDialog(x.id, x.name),
  }, x.critical ? 'Edit register entry' : 'Add to register…');
}

export function customers(d) {
  const c = d.customers;
  const rows = c.listed.map((x) => h('li', { class: ['d-customer', x.critical && 'critical'], 'data-customer': x.id },
    x.critical ? badge('critical', human(x.critical)) : null,
    h('b', {}, x.name || x.id), ' ', h('span', { class: 'muted' }, x.id),
    x.called ? [' ', h('span', { class: 'tag called' }, 'called')] : null,
    registerButton(x),
    h('div', { class: 'muted' }, [x.address, x.phone].filter(Boolean).join(' · ')),
    x.critical ? [emergencyPlan(x.emergency_plan), registerContacts(x.contacts)] : null));
  // Every critical customer stays in sight (the server lists them first, all of them).
  const critical = c.listed.filter((x) => x.critical).length;
  const [shownRows, more] = capped('customers', rows, 'listed', critical);
  return section('customers', 'Customers out', c.total,
    c.critical ? h('p', { class: 'd-critical' }, plural(c.critical, 'critical customer'), ' out') : null,
    rows.length ? h('ul', { class: 'd-list' }, shownRows) : none('Nobody listed.'), more,
    c.more ? h('p', { class: 'd-more' }, `and ${c.more.toLocaleString()} more`) : null);
}

export function jobs(d) {
  const cards = d.jobs.map((j) => h('div', { class: 'd-job', 'data-job': j.id },
    h('div', {}, h('b', {}, j.id), ' ', badge(j.state, human(j.state)),
      j.crew ? [' crew ', h('b', {}, j.crew)] : ' no crew', ` · priority ${Math.round(j.priority)}`,
      (j.breaches || []).map((b) => [' ', h('span', { class: 'tag breach', title: `${SEG_NAMES[b] || b} target breached` }, b)])),
    h('table', { class: 'd-stamps' },
      h('tr', {}, STAMPS.map((s) => h('th', { title: stampTitle(s) }, s))),
      h('tr', {}, STAMPS.map((s) => h('td', { class: j.stamps[s] ? 'done' : null }, j.stamps[s] ? fmtTime(j.stamps[s]) : '—')))),
    h('div', { class: 'muted' }, ['made_safe', 'repaired', 'restored', 'callback', 'closed']
      .filter((k) => j.stamps[k]).map((k) => `${human(k)} ${fmtTime(j.stamps[k])}`).join(' · '))));
  return section('jobs', 'Jobs', d.jobs.length, cards.length ? cards : none('No job.'));
}

function stampTitle(s) {
  const seg = Object.keys(SEG_NAMES).find((k) => k[1] === s);
  return seg ? `${s}: end of ${SEG_NAMES[seg]}` : `${s}: job created`;
}

/** "3 h 30 min" */
function duration(minutes) {
  const hrs = Math.floor(minutes / 60);
  const min = Math.round(minutes % 60);
  return [hrs ? `${hrs} h` : '', min || !hrs ? `${min} min` : ''].filter(Boolean).join(' ');
}

const THUMB = { width: '96px', height: '72px', objectFit: 'cover', borderRadius: '4px', display: 'block' };

function photo(id) {
  const url = `/api/photos/${encodeURIComponent(id)}`;
  return h('a', { href: url, target: '_blank', rel: 'noopener', title: 'The photo, full size' },
    h('img', { src: url, alt: `Photo ${id}`, loading: 'lazy', 'data-photo': id, style: THUMB }));
}

export function damage(d) {
  const x = d.damage;
  const s = x.summary;
  const cards = x.reports.map((r) => h('div', { class: 'd-job', 'data-damage': r.id },
    h('div', {}, damageSymbol(r.asset, 18), ' ', h('b', {}, human(r.asset)), ` ${clock(r.time)}`,
      r.crew ? [' · crew ', h('b', {}, r.crew)] : null, r.user ? h('span', { class: 'muted' }, ` · ${r.user}`) : null),
    h('div', {}, `repair ${duration(r.repair_minutes)}`, r.skills?.length ? ` · needs ${r.skills.join(', ')}` : ''),
    r.materials?.length ? h('div', { class: 'muted' }, `Materials: ${r.materials.join(', ')}`) : null,
    r.note ? h('div', {}, `“${r.note}”`) : null,
    r.photos?.length ? h('div', { class: 'd-photos', style: { display: 'flex', flexWrap: 'wrap', gap: '4px', marginTop: '4px' } },
      r.photos.map(photo)) : null));
  const kinds = Object.entries(s.assets).map(([a, n]) => `${n} ${human(a)}`).join(', ');
  return section('damage', 'Damage', s.reports,
    s.reports ? h('p', { class: 'd-damage-sum', 'data-minutes': s.repair_minutes },
      `${kinds} · repair ${duration(s.repair_minutes)} in all`,
      s.skills.length ? ` · needs ${s.skills.join(', ')}` : '',
      s.materials.length ? h('div', { class: 'muted' }, `Materials: ${s.materials.join(', ')}`) : null) : null,
    cards.length ? cards : none('No damage reported.'),
    x.more ? h('p', { class: 'd-more' }, `and ${x.more} earlier reports`) : null);
}

export function etrs(d) {
  const rows = d.etr_history.map((e) => h('li', {},
    h('span', { class: 'num' }, clock(e.time)), ' → ', h('b', {}, fmtTime(e.etr)),
    e.source ? h('span', { class: 'muted' }, ` ${e.source}`) : null));
  return section('etr', 'ETR history', d.etr_history.length,
    rows.length ? h('ul', { class: 'd-list' }, rows) : none('No estimate given.'));
}

const TYPES = {
  call: 'call', ami_last_gasp: 'last gasp', ami_restore: 'AMI restore', ami_ping_reply: 'ping reply',
  ping_request: 'ping sent', scada: 'SCADA', fci: 'fault indicator', action: 'action', dispatch: 'dispatch',
  alert: 'alert',
};

function what(e) {
  const x = e.detail || {};
  switch (e.type) {
    case 'call': return [e.customer, x.hazard ? ` · ${human(x.hazard)}` : '', x.note ? ` · “${x.note}”` : ''];
    case 'scada': return `${e.device} ${x.state}${x.lockout ? ' (lockout)' : ''}`;
    case 'fci': return `${e.device} ${x.fault ? 'saw the fault' : 'saw no fault'}`;
    case 'ami_ping_reply': return `${x.energized ? 'energized' : 'dead'} · ${e.customers.join(', ')}`;
    case 'ping_request': return `${x.purpose || ''} · ${e.customers.join(', ')}`;
    case 'action': return [h('b', {}, e.actor), ` ${human(x.action)}`, x.reason ? ` · ${x.reason}` : ''];
    case 'dispatch': return `${x.job} → ${x.crew || 'no crew'} (${x.rule}) by ${e.actor}`;
    case 'alert': return `${x.job} ${alertHeadline({ kind: x.kind, level: x.level, job: x.job, detail: x })}`;
    default: return e.customers.join(', ');
  }
}

export function timeline(d) {
  const rows = d.timeline.map((e) => h('li', { class: ['d-event', `t-${e.type}`], 'data-type': e.type },
    h('span', { class: 'num' }, clock(e.time)),
    h('span', { class: 'd-type' }, TYPES[e.type] || human(e.type), e.count > 1 ? ` ×${e.count}` : ''),
    h('span', { class: 'd-what' }, what(e), e.count > 1 ? h('span', { class: 'muted' }, ` until ${clock(e.until)}`) : null)));
  return section('timeline', 'Evidence timeline', d.timeline.length,
    rows.length ? h('ol', { class: 'd-timeline' }, rows) : none('No evidence.'),
    d.timeline_more ? h('p', { class: 'd-more' }, `and ${d.timeline_more} later entries`) : null,
    d.timeline_complete ? null : h('p', { class: 'd-more' }, 'The event log of this window was too long to read whole.'));
}

export function audit(d) {
  const rows = d.audit.map((a) => h('li', {},
    h('span', { class: 'num' }, clock(a.time)), ' ', h('b', {}, a.actor), ` ${human(a.action)}`,
    a.reason ? h('span', { class: 'muted' }, ` · ${a.reason}`) : null));
  return section('audit', 'Audit trail', d.audit.length, rows.length ? h('ol', { class: 'd-list' }, rows) : none('Nothing yet.'));
}
