/*
 * What the crew is told of a job's customer and outage (#facts) and, under
 * a network job, the critical premises out (#premises): the customer's
 * record as the customers file has it (account, meter, critical reason),
 * where it is supplied from (supply transformer, feeder), and each critical
 * premises' name, address, reason, phone and emergency plan (the customers
 * file's optional free text, docs/formats.md, contract 2); where the file
 * gives none, the crew is told so.
 */
import { byId, fill, h } from '../dom.js';
import { hhmm } from './time.js';

const NO_PLAN = 'No emergency plan on file: call the customer, ask the control room.';

function fact(dl, label, value) {
  if (value === null || value === undefined || value === '') return;
  dl.append(h('dt', {}, label), h('dd', {}, value));
}

const strong = (text) => h('strong', { class: 'error' }, text);
const phone = (p) => (p ? h('a', { href: `tel:${p}` }, p) : null);
/** A critical reason as words: life_support -> life support. */
const reason = (r) => String(r).replace(/_/g, ' ');
/** The emergency plan as written (its line breaks kept), or that there is none. */
function plan(text) {
  if (!text) return h('span', { class: 'plan' }, NO_PLAN);
  const lines = String(text).split(/\r?\n/);
  return h('span', { 'data-plan': '' }, 'Emergency plan: ',
    lines.flatMap((line, i) => (i ? [h('br'), line] : [line])));
}
/** A network element: its name and id, or its id. */
const element = (e) => (e ? (e.name ? `${e.name} (${e.id})` : e.id) : null);

function customerFacts(dl, c) {
  fact(dl, 'Customer', `${c.name || ''} (${c.id})`);
  fact(dl, 'Address', c.address);
  fact(dl, 'Phone', phone(c.phone));
  fact(dl, 'Account', c.account);
  fact(dl, 'Meter', c.meter);
  fact(dl, 'Supply transformer', element(c.transformer) ||
    (c.feeder ? 'none between the customer and the feeder (MV supply)' : null));
  fact(dl, 'Feeder', element(c.feeder));
  fact(dl, 'Substation', c.source_name ? `${c.source_name} (${c.source})` : c.source);
  if (c.critical) {
    fact(dl, 'Critical', h('span', { 'data-critical': c.critical },
      strong(reason(c.critical)), h('br'), plan(c.emergency_plan)));
  } else if (c.emergency_plan) {
    fact(dl, 'Emergency plan', plan(c.emergency_plan));
  }
}

function outageFacts(dl, job, o) {
  fact(dl, 'Outage', `${o.id} · ${o.state}`);
  fact(dl, 'Device', o.device || job.device);
  fact(dl, 'Customers out', String(o.customers_out));
  fact(dl, 'Critical out', o.critical_out ? strong(String(o.critical_out)) : null);
  fact(dl, 'Calls', String(o.calls));
  fact(dl, 'Started', hhmm(o.started));
  fact(dl, 'Hazard', o.hazard ? strong('reported (e.g. wire down)') : null);
}

export function renderFacts(job) {
  const dl = fill(byId('facts'));
  if (job.customer_details) customerFacts(dl, job.customer_details);
  else if (job.customer) fact(dl, 'Customer', `${job.customer} (not in the customers file)`);
  if (job.outage_details) outageFacts(dl, job, job.outage_details);
  else fact(dl, 'Device', job.device);
  fact(dl, 'ETR', job.etr ? `${hhmm(job.etr)}${job.etr_source ? ` (${job.etr_source})` : ''}` : null);
  fact(dl, 'Position', `${Number(job.lat).toFixed(5)}, ${Number(job.lon).toFixed(5)}`);
}

function premise(p) {
  return h('li', { 'data-customer': p.id },
    h('div', { class: 'top' }, h('strong', {}, p.name || p.id), strong(reason(p.critical))),
    h('div', {}, p.address || `no address (${p.id})`),
    h('div', { class: 'row' }, phone(p.phone) || h('span', { class: 'muted' }, 'no phone')),
    h('div', {}, plan(p.emergency_plan)));
}

/** The critical premises out under a network job (hidden for a service job). */
export function renderPremises(job) {
  const box = byId('premises-box');
  const list = job.critical_premises;
  box.hidden = job.kind === 'single_customer';
  if (box.hidden) return;
  const ul = byId('premises');
  if (!list) {
    fill(ul, h('li', { class: 'muted' }, 'Not loaded yet (needs a connection once).'));
    return;
  }
  if (!list.total) {
    fill(ul, h('li', { class: 'muted' }, 'No critical customer is out.'));
    return;
  }
  const more = list.total - list.listed.length;
  fill(ul, list.listed.map(premise),
    more > 0 ? h('li', { class: 'muted' }, `and ${more} more: ask the control room`) : null);
}
