/*
 * A public outage page started: the single-region page (/public/) and the
 * page of every control region (/regions/public/) are this one page on
 * different documents. `urls` names them: `outages` (the outages by area),
 * `areas` (the zones for the map) and `lookup` (a case by reference or
 * phone). The page refreshes every minute; `?case=` looks a case up at once.
 */
import { $$, byId } from './dom.js';
import { loadOutages } from './public-areas.js';
import { lookupAt, syncLabel } from './public-case.js';
import { showOnMap } from './public-map.js';

const REFRESH_MS = 60000;

/** Starts the page on the documents of `urls` ({outages, areas, lookup}). */
export function startPublicPage(urls) {
  for (const r of $$('input[name=by]')) r.addEventListener('change', syncLabel);
  byId('lookup').addEventListener('submit', lookupAt(urls.lookup));
  const params = new URLSearchParams(location.search);
  if (params.get('case')) {
    byId('q').value = params.get('case');
    byId('lookup').requestSubmit();
  }
  async function refresh() {
    const doc = await loadOutages(urls.outages);
    if (doc) await showOnMap(doc, urls.areas);
  }
  refresh();
  setInterval(refresh, REFRESH_MS);
}
