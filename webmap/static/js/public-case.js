/*
 * "Where is my case?": a case looked up by its number or by the phone
 * number (GET /api/public/case?case= or ?phone=, or its counterpart across
 * control regions, which names the case's region), shown as the stages
 * reached so far, the ETR and the latest message.
 */
import { request } from './api.js';
import { $, byId, fill, h } from './dom.js';
import { count, when } from './public-format.js';

const by = () => $('input[name=by]:checked').value;

/** The label and keyboard of the input follow the choice (case reference or phone). */
export function syncLabel() {
  const phone = by() === 'phone';
  const q = byId('q');
  byId('q-label').textContent = phone
    ? 'The phone number we have for you (the country code is optional)' : 'Case reference from our message (e.g. K7QF-2MXH-4PZA)';
  q.type = phone ? 'tel' : 'text';
  q.inputMode = phone ? 'tel' : 'text';
  q.autocomplete = phone ? 'tel' : 'off';
}

/** The form's submit handler, looking cases up at `url` (?case= or ?phone=). */
export const lookupAt = (url) => (ev) => lookup(ev, url);

async function lookup(ev, url) {
  ev.preventDefault();
  const key = by();
  const value = byId('q').value.trim();
  const box = byId('case');
  if (!value) {
    fill(box, h('p', { class: 'error' }, 'Enter a case reference or a phone number.'));
    return;
  }
  fill(box, h('p', { class: 'muted' }, 'Looking up…'));
  let r;
  try {
    r = await request('GET', `${url}?${key}=${encodeURIComponent(value)}`);
  } catch {
    fill(box, h('p', { class: 'error' }, 'Could not reach the server; try again.'));
    return;
  }
  if (!r.ok || !r.data) {
    fill(box, h('p', { class: 'error', role: 'alert' }, r.data?.error || `The server answered ${r.status}.`));
    return;
  }
  renderCase(r.data);
}

function renderCase(c) {
  const steps = c.stages.map((s) => h('li', {
    class: [s.reached && 'reached', s.key === c.stage && 'current'],
    'data-stage': s.key,
  }, s.label, s.time ? h('time', { datetime: s.time }, when(s.time)) : null));
  fill(byId('case'),
    h('h3', {}, `Case ${c.case}: ${c.stage_label}`),
    c.reported_as ? h('p', { class: 'muted' }, `Your report ${c.reported_as} is handled as part of ${c.case}.`) : null,
    h('p', {}, c.message),
    h('ol', { class: 'steps' }, steps),
    c.etr ? h('p', {}, h('strong', {}, `Estimated restoration: ${when(c.etr)}`)) : null,
    c.restored ? h('p', {}, `Restored ${when(c.restored)}`) : null,
    c.customers_out ? h('p', { class: 'muted' }, `${count(c.customers_out)} customers are affected by this outage.`) : null,
    h('p', { class: 'muted' }, `${c.area_name || 'Area –'}${c.region ? `, ${c.region}` : ''}`,
      ` (${c.area_class}) · updated ${when(c.updated) || ''}`));
}
