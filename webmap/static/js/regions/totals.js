/*
 * The totals of /regions: the storm overview's figures of all regions and
 * of each (GET /api/regions/overview) in one table, a region's row marked
 * with its colour on the map.
 */
import { fill, h } from '../dom.js';
import { count, hhmm } from '../format.js';

const COLUMNS = [
  ['outages', 'Outages'],
  ['customers_out', 'Customers out'],
  ['critical_out', 'Critical out'],
  ['jobs_waiting', 'Jobs waiting'],
  ['jobs_breached', 'Breached'],
  ['etr_latest', 'Last ETR'],
];

function cells(figures) {
  return COLUMNS.map(([key]) => h('td', { class: ['num', figures[key] && key === 'jobs_breached' && 'breach'], 'data-key': key },
    key === 'etr_latest' ? hhmm(figures[key]) : count(figures[key])));
}

/** Draws `doc` into `node`: all regions first, then each by name. */
export function drawTotals(node, doc, colourOf) {
  const names = Object.keys(doc.regions).sort();
  fill(node, h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Region'), COLUMNS.map(([, label]) => h('th', {}, label)))),
    h('tbody', {},
      h('tr', { class: 'total' }, h('th', {}, `All ${names.length} regions`), cells(doc)),
      names.map((name) => h('tr', { 'data-region': name },
        h('th', {}, h('span', { class: 'swatch', style: { background: colourOf(name) } }), name),
        cells(doc.regions[name]))))));
}
