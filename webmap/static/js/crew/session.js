/*
 * Who is signed in: GET /api/session with the session cookie or the
 * device's bearer token. The answer gives the user, a CSRF token and, for a
 * registered device, its id. A revoked token falls back to the cookie;
 * another user than before makes the handheld forget the cached jobs.
 */
import { auth } from '../api.js';
import { byId } from '../dom.js';
import { kvSet, tx } from './idb.js';
import { showAlert } from './notices.js';
import { S } from './state.js';
import { api, setAuth, setOnline } from './status.js';

/** true signed in, false signed out, null the server could not be reached. */
export async function loadSession() {
  let r;
  try {
    r = await api('GET', '/api/session');
  } catch {
    setOnline(false);
    return null;
  }
  setOnline(true);
  if (r.status === 401 && auth.token) {
    auth.token = null;  // revoked or wrong: fall back to the session cookie
    await kvSet('token', null);
    return loadSession();
  }
  if (r.status !== 200 || !r.data) {
    setAuth(false);
    return false;
  }
  const before = S.user?.username;
  S.user = r.data.user;
  auth.csrf = r.data.csrf_token;
  if (r.data.device) S.device = r.data.device;
  await kvSet('session', { user: S.user });
  if (before && before !== S.user.username) await forgetJobs();
  setAuth(true);
  renderWho();
  return true;
}

async function forgetJobs() {
  S.jobs.clear();
  S.order = [];
  await tx('jobs', 'readwrite', (s) => s.clear());
  await kvSet('jobs:order', []);
}

function renderWho() {
  const u = S.user;
  byId('who').textContent = u ? `${u.crew ? `Crew ${u.crew}` : u.role} · ${u.username}` : '';
  if (u && u.role !== 'crew' && u.role !== 'admin') {
    showAlert('This page is for crew accounts; you see every open job but cannot act as a crew.', 'warn', 'role');
  }
}

/** Keeps the bearer token (null: none) on the handheld. */
export async function setToken(token) {
  auth.token = token || null;
  await kvSet('token', auth.token);
}
