/*
 * The public outage page across control regions (/regions/public/): every
 * region's areas on one map and list, and a case of any region looked up in
 * the region owning its reference. The page's entry module: the public
 * page (js/public-page.js) on the documents of webmap/regions.py.
 */
import { startPublicPage } from './js/public-page.js';

startPublicPage({
  outages: '/api/regions/public/outages',
  areas: '/api/regions/public/areas',
  lookup: '/api/regions/public/case',
});
