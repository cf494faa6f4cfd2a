/*
 * The public outage page (/public/): outages by area (a list and a map),
 * and the progress of one case. The page's entry module; the page itself
 * is js/public-page.js, shared with the page across control regions.
 */
import { startPublicPage } from './js/public-page.js';

startPublicPage({
  outages: '/api/public/outages',
  areas: '/api/public/areas',
  lookup: '/api/public/case',
});
