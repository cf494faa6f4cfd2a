/*
 * The public outage page (/public/): outages by area (a list and a map),
 * and the progress of one case. The page's entry module; js/public/ holds
 * the parts.
 */
import { $$, byId } from './js/dom.js';
import { loadOutages } from './js/public/areas.js';
import { lookup, syncLabel } from './js/public/case.js';
import { showOnMap } from './js/public/map.js';

const REFRESH_MS = 60000;

for (const r of $$('input[name=by]')) r.addEventListener('change', syncLabel);
byId('lookup').addEventListener('submit', lookup);
const params = new URLSearchParams(location.search);
if (params.get('case')) {
  byId('q').value = params.get('case');
  byId('lookup').requestSubmit();
}
async function refresh() {
  const doc = await loadOutages();
  if (doc) await showOnMap(doc);
}
refresh();
setInterval(refresh, REFRESH_MS);
