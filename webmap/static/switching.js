/*
 * The switching desk (/switching): the page's entry module (open-oms).
 *
 * Native ES modules, no build step; every asset from this server. The
 * parts, under js/switching/:
 *
 *   state      the server's config (#oms-config), the store, the redraw, window.omsSwitching
 *   ui         small drawing helpers, times, toasts
 *   dialog     the page's one modal dialog
 *   send       the desk's actions: refusals shown, warnings acknowledged (js/interlocks.js)
 *   orders     the orders tab: filter, list, "new order", "order from outage"
 *   order      one order: steps, signatures, its changes of state, "Do step N"
 *   study      a study drawn (customers lost and regained, loops, transfers, findings)
 *   editor     writing a new order, studied live as it is written
 *   safety     safety documents: list, write, issue, release, cancel
 *   planned    planned outages: list, request with its risk check, approve, reject, cancel
 *   field      tags, grounds, jumpers and cuts in the field
 *   live       loading the lists and following /stream
 */
import { auth, pageCsrfToken, request } from './js/api.js';
import { start } from './js/switching/live.js';
import { signIn } from './js/switching/state.js';

auth.csrf = pageCsrfToken();
auth.renew = async () => {
  const r = await request('GET', '/api/session');
  if (r.ok) auth.csrf = r.data.csrf_token;
};
auth.signedOut = signIn;

start();
