/*
 * The public outage page (/public/): outages by area, and the progress of
 * one case. The page's entry module; js/public/ holds the two parts.
 */
import { $$, byId } from './js/dom.js';
import { loadOutages } from './js/public/areas.js';
import { lookup, syncLabel } from './js/public/case.js';

const REFRESH_MS = 60000;

for (const r of $$('input[name=by]')) r.addEventListener('change', syncLabel);
byId('lookup').addEventListener('submit', lookup);
const params = new URLSearchParams(location.search);
if (params.get('case')) {
  byId('q').value = params.get('case');
  byId('lookup').requestSubmit();
}
loadOutages();
setInterval(loadOutages, REFRESH_MS);
