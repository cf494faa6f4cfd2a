/*
 * The routes across control regions drawn (/regions).
 * The page's entry module; js/regions/ holds the parts.
 */
import { byId } from './js/dom.js';
import { start } from './js/regions/page.js';

start(JSON.parse(byId('oms-config').textContent));
