/*
 * Outages now, by area (GET /api/public/outages, or the document of every
 * control region, GET /api/regions/public/outages): the totals, and per
 * area its customers out, outages and latest ETR, with the network
 * outages' cases. An area of a region's document names its region (zone
 * ids are each region's own), and the totals say each region's. No
 * personal data (see webmap/public.py).
 */
import { request } from './api.js';
import { byId, fill, h } from './dom.js';
import { count, when } from './public-format.js';

/** A date and time in the reader's locale (planned work is days ahead). */
const day = (iso) => new Date(iso).toLocaleString([], {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

const CLASS_LABEL = { urban: 'urban', rural: 'rural', remote: 'remote' };

/** Loads the outages by area from `url` and shows them; gives the document (null when it failed). */
export async function loadOutages(url) {
  const error = byId('areas-error');
  try {
    const r = await request('GET', url);
    if (!r.ok || !r.data) throw new Error(`the server answered ${r.status}`);
    renderOutages(r.data);
    error.textContent = '';
    return r.data;
  } catch (e) {
    error.textContent = `Could not load the outages (${e.message}). Retrying…`;
    return null;
  }
}

function area(a) {
  const place = a.area ? a.name || a.area : 'Other areas';
  const name = a.region ? `${place}, ${a.region}` : place;
  const out = a.customers_out > 0;
  const items = a.items.map((i) => h('li', { 'data-case': i.case },
    `${i.case}: ${count(i.customers_out)} customers · ${i.stage_label}`,
    i.etr ? ` · ETR ${when(i.etr)}` : '',
    i.hazard ? [' ', h('span', { class: 'tag bad' }, 'keep clear: hazard')] : null));
  for (const p of a.planned || []) {
    items.push(h('li', { class: 'planned', 'data-notice': p.notice },
      `Planned work ${p.under_way ? '(under way) ' : ''}${day(p.start)} to ${day(p.end)}: `,
      `${count(p.customers)} customers without supply (notice ${p.notice})`));
  }
  if (a.single_customer_outages) {
    items.push(h('li', {}, `${a.single_customer_outages} single-supply problem(s) being handled`));
  }
  return h('li', { class: ['area', out ? 'out' : 'clear'], 'data-area': a.area || '', 'data-region': a.region },
    h('div', { class: 'top' },
      h('span', {}, `${name} (${CLASS_LABEL[a.area_class] || a.area_class})`),
      h('span', {}, out ? `${count(a.customers_out)} out` : 'no outages')),
    out
      ? h('div', { class: 'muted' },
        a.outages ? `${a.outages} outage(s) with the fault here` : 'out from an outage in an area nearby',
        a.customers_served ? ` · ${count(a.customers_served)} customers in the area` : '',
        a.etr ? ` · all back by ${when(a.etr)} (estimate)` : '')
      : null,
    items.length ? h('ul', { class: 'items' }, items) : null);
}

function renderOutages(doc) {
  byId('updated').textContent = `Updated ${when(doc.updated) || ''}`;
  byId('t-out').textContent = count(doc.totals.customers_out);
  byId('t-outages').textContent = count(doc.totals.outages);
  const served = doc.totals.customers_served
    ? `of ${count(doc.totals.customers_served)} customers served` : '';
  const regions = Object.entries(doc.regions || {})
    .map(([name, t]) => `${name}: ${count(t.customers_out)} out`);
  byId('t-served').textContent = [served, ...regions].filter(Boolean).join(' · ');
  fill(byId('areas'), doc.areas.map(area));
}
