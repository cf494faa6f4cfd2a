/* The public outage page: outages by area, and the progress of one case. */
(function () {
  'use strict';

  const REFRESH_MS = 60000;
  const CLASS_LABEL = { urban: 'urban', rural: 'rural', remote: 'remote' };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function when(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return null;
    return d.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  }
  const n = (x) => Number(x || 0).toLocaleString();

  // --------------------------------------------------------- outages now
  async function loadOutages() {
    try {
      const res = await fetch('/api/public/outages', { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`the server answered ${res.status}`);
      renderOutages(await res.json());
      $('areas-error').textContent = '';
    } catch (e) {
      $('areas-error').textContent = `Could not load the outages (${e.message}). Retrying…`;
    }
  }
  function renderOutages(doc) {
    $('updated').textContent = `Updated ${when(doc.updated) || ''}`;
    $('t-out').textContent = n(doc.totals.customers_out);
    $('t-outages').textContent = n(doc.totals.outages);
    $('t-served').textContent = doc.totals.customers_served
      ? `of ${n(doc.totals.customers_served)} customers served` : '';
    const ul = $('areas');
    ul.replaceChildren(...doc.areas.map((a) => {
      const name = a.area ? `Area ${a.area}` : 'Other areas';
      const out = a.customers_out > 0;
      const items = a.items.map((i) => el('li', { 'data-case': i.case },
        `${i.case}: ${n(i.customers_out)} customers · ${i.stage_label}`,
        i.etr ? ` · ETR ${when(i.etr)}` : '',
        i.hazard ? [' ', el('span', { class: 'tag bad' }, 'keep clear: hazard')] : null));
      if (a.single_customer_outages) {
        items.push(el('li', {}, `${a.single_customer_outages} single-supply problem(s) being handled`));
      }
      return el('li', { class: `area ${out ? 'out' : 'clear'}`, 'data-area': a.area || '' },
        el('div', { class: 'top' },
          el('span', {}, `${name} (${CLASS_LABEL[a.area_class] || a.area_class})`),
          el('span', {}, out ? `${n(a.customers_out)} out` : 'no outages')),
        out ? el('div', { class: 'muted' },
          `${a.outages} outage(s)`,
          a.customers_served ? ` · ${n(a.customers_served)} customers in the area` : '',
          a.etr ? ` · all back by ${when(a.etr)} (estimate)` : '') : null,
        items.length ? el('ul', { class: 'items' }, items) : null);
    }));
  }

  // --------------------------------------------------------------- lookup
  function syncLabel() {
    const by = document.querySelector('input[name=by]:checked').value;
    const q = $('q');
    $('q-label').textContent = by === 'phone'
      ? 'The phone number we have for you' : 'Case number from our message (e.g. OUT-000123)';
    q.type = by === 'phone' ? 'tel' : 'text';
    q.inputMode = by === 'phone' ? 'tel' : 'text';
    q.autocomplete = by === 'phone' ? 'tel' : 'off';
  }
  async function lookup(ev) {
    ev.preventDefault();
    const by = document.querySelector('input[name=by]:checked').value;
    const value = $('q').value.trim();
    const box = $('case');
    if (!value) {
      box.replaceChildren(el('p', { class: 'error' }, 'Enter a case number or a phone number.'));
      return;
    }
    box.replaceChildren(el('p', { class: 'muted' }, 'Looking up…'));
    let res, doc;
    try {
      res = await fetch(`/api/public/case?${by}=${encodeURIComponent(value)}`, { headers: { Accept: 'application/json' } });
      doc = await res.json();
    } catch (e) {
      box.replaceChildren(el('p', { class: 'error' }, 'Could not reach the server; try again.'));
      return;
    }
    if (!res.ok) {
      box.replaceChildren(el('p', { class: 'error', role: 'alert' }, doc.error || `The server answered ${res.status}.`));
      return;
    }
    renderCase(doc);
  }
  function renderCase(c) {
    const box = $('case');
    const steps = c.stages.map((s) => el('li', {
      class: `${s.reached ? 'reached' : ''}${s.key === c.stage ? ' current' : ''}`,
      'data-stage': s.key,
    }, s.label, s.time ? el('time', { datetime: s.time }, when(s.time)) : null));
    box.replaceChildren(...[
      el('h3', {}, `Case ${c.case}: ${c.stage_label}`),
      c.reported_as ? el('p', { class: 'muted' }, `Your report ${c.reported_as} is handled as part of ${c.case}.`) : null,
      el('p', {}, c.message),
      el('ol', { class: 'steps' }, steps),
      c.etr ? el('p', {}, el('strong', {}, `Estimated restoration: ${when(c.etr)}`)) : null,
      c.restored ? el('p', {}, `Restored ${when(c.restored)}`) : null,
      c.customers_out ? el('p', { class: 'muted' }, `${n(c.customers_out)} customers are affected by this outage.`) : null,
      el('p', { class: 'muted' }, `Area ${c.area || '–'} (${c.area_class}) · updated ${when(c.updated) || ''}`),
    ].filter(Boolean));
  }

  document.querySelectorAll('input[name=by]').forEach((r) => r.addEventListener('change', syncLabel));
  $('lookup').addEventListener('submit', lookup);
  const params = new URLSearchParams(location.search);
  if (params.get('case')) {
    $('q').value = params.get('case');
    $('lookup').requestSubmit();
  }
  loadOutages();
  setInterval(loadOutages, REFRESH_MS);
}());
