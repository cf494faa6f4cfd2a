/*
 * A page's live stream (EventSource) kept open: when the browser gives up
 * on it (the server answered an error), the session is checked, then the
 * page connects again (from the last change it saw: its own `reconnect`);
 * signed out (`signed_out`, or the check answers 401), the page goes to
 * sign in.
 */
import { request } from './api.js';

/** Watch `es`: `lost()` on each error, `reconnect()` or `signIn()` once it is closed. */
export function keepOpen(es, { lost, signIn, reconnect }) {
  es.onerror = () => {
    lost();
    if (es.readyState !== EventSource.CLOSED) return;
    request('GET', '/api/session').then(
      (r) => (r.status === 401 ? signIn() : setTimeout(reconnect, 2000)),
      () => setTimeout(reconnect, 3000));
  };
  es.addEventListener('signed_out', () => { es.close(); signIn(); });
}
