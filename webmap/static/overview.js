/*
 * The storm overview (/overview) and the wall display (/overview?wall=1).
 * The page's entry module; js/overview/ holds the parts.
 */
import { byId } from './js/dom.js';
import { start } from './js/overview/page.js';

start(JSON.parse(byId('oms-config').textContent));
