/*
 * The crew handheld (see docs/handheld.md).
 *
 * Every action the crew takes goes into an outbox in IndexedDB first, with a
 * client-made event id (the idempotency key) and the time the button was
 * pressed; the outbox is then sent in order whenever the server can be
 * reached. A replay after a lost answer is harmless (the server counts it as
 * a duplicate); an action the server refuses (the job was recalled or
 * reassigned meanwhile) stays on screen with the server's reason until the
 * crew dismisses it. The last job list and job details are kept in IndexedDB
 * too, so a restart without signal still shows the crew its work.
 */
(function () {
  'use strict';

  // ------------------------------------------------------------ constants
  const DB_NAME = 'oms-crew';
  const DB_VERSION = 1;
  const RETRY_MS = 4000;           // outbox retry while something waits
  const GPS_MIN_S = 60;            // a fix at most once a minute ...
  const GPS_MOVED_S = 15;          // ... or every 15 s while moving
  const GPS_MOVED_M = 100;         // ... more than 100 m
  const STAGES = [
    { action: 'accept', label: 'Accept', state: 'accepted', stamp: 'F' },
    { action: 'depart', label: 'Depart', state: 'en_route', stamp: 'G' },
    { action: 'arrive', label: 'Arrived', state: 'on_site', stamp: 'H' },
    { action: 'made-safe', label: 'Made safe', state: 'made_safe', stamp: 'made_safe' },
    { action: 'repaired', label: 'Repaired', state: 'repaired', stamp: 'repaired' },
    { action: 'restored', label: 'Restored', state: 'restored', stamp: 'restored' },
  ];
  const STATE_ORDER = ['waiting', 'dispatched', 'delivered', 'accepted', 'en_route', 'on_site',
    'made_safe', 'repaired', 'restored', 'closed'];
  const STATE_LABEL = {
    waiting: 'Waiting', dispatched: 'New', delivered: 'Received', accepted: 'Accepted',
    en_route: 'On the way', on_site: 'On site', made_safe: 'Made safe', repaired: 'Repaired',
    restored: 'Restored', closed: 'Closed', cancelled: 'Cancelled',
  };
  const ACTION_LABEL = {
    deliver: 'Received', accept: 'Accept', depart: 'Depart', arrive: 'Arrived',
    'made-safe': 'Made safe', repaired: 'Repaired', restored: 'Restored',
    estimate: 'Estimate', close: 'Close-out', status: 'Shift',
  };
  const ALERT_TEXT = {
    recalled: (a) => `${a.job} was recalled by the dispatcher` +
      (a.detail && a.detail.reason ? `: ${a.detail.reason}` : '.'),
    redirected: (a) => `${a.job} moved: the fault is now at ${(a.detail || {}).new || 'another device'}.`,
    job_cancelled: (a) => `${a.job} was cancelled` + (a.detail && a.detail.why ? ` (${a.detail.why}).` : '.'),
  };

  const app = document.getElementById('app');
  const $ = (id) => document.getElementById(id);

  const S = {
    db: null,
    user: null,          // {username, role, crew}
    csrf: null,
    token: null,         // a device's bearer token, when the handheld uses one
    device: null,        // the id that names this handheld in event ids
    authed: null,        // true, false, or null (unknown: no answer yet)
    online: navigator.onLine,
    jobs: new Map(),     // id -> job document (with customer_details, outage_details)
    order: [],
    outbox: [],
    feeders: new Map(),  // device -> feeder trace
    crew: null,          // the crew's own record from /api/crews
    synced: null,
    current: null,       // the job shown in the detail view
    pos: null,           // {lon, lat, time}
    lastEventId: null,
    seq: 0,
    confirm: null,       // the action waiting for a second tap
    closed: new Set(),   // jobs this handheld closed (no "recalled" notice for them)
    noticed: new Set(),  // jobs whose loss the crew was told of already
  };

  // ------------------------------------------------------------- helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const pad = (n) => String(n).padStart(2, '0');

  /** ISO 8601 with the handheld's UTC offset, e.g. 2026-03-01T10:04:05+01:00. */
  function isoLocal(d) {
    d = d || new Date(omsClock.now());
    const off = -d.getTimezoneOffset();
    const sign = off >= 0 ? '+' : '-';
    const a = Math.abs(off);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
      `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  }
  /** The value of a datetime-local input for an ISO time (local time). */
  function toInput(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  /** A datetime-local input's value as ISO 8601 with offset (or null). */
  function fromInput(value) {
    if (!value) return null;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : isoLocal(d);
  }
  function hhmm(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '–';
    const today = new Date();
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return d.toDateString() === today.toDateString() ? time : `${d.getDate()}/${d.getMonth() + 1} ${time}`;
  }
  function ago(iso) {
    if (!iso) return '';
    const min = Math.round((omsClock.now() - new Date(iso).getTime()) / 60000);
    if (min < 1) return 'just now';
    if (min < 90) return `${min} min ago`;
    return `${Math.round(min / 60)} h ago`;
  }
  function uuid() {
    if (self.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function metres(a, b) {
    const r = 6371008.8;
    const rad = Math.PI / 180;
    const dlat = (b.lat - a.lat) * rad;
    const dlon = (b.lon - a.lon) * rad;
    const h = Math.sin(dlat / 2) ** 2 +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dlon / 2) ** 2;
    return 2 * r * Math.asin(Math.sqrt(h));
  }
  function bearing(a, b) {
    const rad = Math.PI / 180;
    const y = Math.sin((b.lon - a.lon) * rad) * Math.cos(b.lat * rad);
    const x = Math.cos(a.lat * rad) * Math.sin(b.lat * rad) -
      Math.sin(a.lat * rad) * Math.cos(b.lat * rad) * Math.cos((b.lon - a.lon) * rad);
    const deg = (Math.atan2(y, x) / rad + 360) % 360;
    return ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'][Math.round(deg / 45) % 8];
  }

  // ----------------------------------------------------------- IndexedDB
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('jobs')) db.createObjectStore('jobs', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  /** Run ``fn(store)`` in a transaction; resolves with the last request's result when it commits. */
  function tx(name, mode, fn) {
    return new Promise((resolve, reject) => {
      const t = S.db.transaction(name, mode);
      const req = fn(t.objectStore(name));
      t.oncomplete = () => resolve(req ? req.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }
  const idbAll = (name) => tx(name, 'readonly', (s) => s.getAll());
  const idbPut = (name, value, key) => tx(name, 'readwrite', (s) => s.put(value, key));
  const idbDelete = (name, key) => tx(name, 'readwrite', (s) => s.delete(key));
  const kvGet = (key) => tx('kv', 'readonly', (s) => s.get(key));
  const kvSet = (key, value) => idbPut('kv', value, key);

  // ------------------------------------------------------------------ api
  function headers(json) {
    const h = { Accept: 'application/json' };
    if (json) h['Content-Type'] = 'application/json';
    if (S.token) h.Authorization = `Bearer ${S.token}`;
    else if (S.csrf) h['X-CSRFToken'] = S.csrf;
    if (S.pos) h['X-Position'] = `${S.pos.lon},${S.pos.lat}`;
    return h;
  }
  /** A request to the API; throws when the server cannot be reached. */
  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { status: res.status, ok: res.ok, data };
  }

  // --------------------------------------------------------- connectivity
  function setOnline(on) {
    if (S.online === on) return;
    S.online = on;
    renderStatus();
    if (on) flushSoon(0);
  }
  function setAuth(ok) {
    S.authed = ok;
    $('auth-banner').hidden = ok !== false;
    renderStatus();
  }
  function renderStatus() {
    const pill = $('net');
    const waiting = S.outbox.filter((i) => i.status === 'queued').length;
    let text, cls;
    if (!S.online) { text = 'Offline'; cls = 'offline'; }
    else if (S.authed === false) { text = 'Signed out'; cls = 'offline'; }
    else if (waiting) { text = 'Sending…'; cls = 'syncing'; }
    else { text = 'Online'; cls = 'online'; }
    if (waiting) text += ` · ${waiting} to send`;
    pill.textContent = text;
    pill.className = `pill ${cls}`;
    pill.dataset.queued = String(waiting);
  }

  // -------------------------------------------------------------- session
  async function loadSession() {
    let r;
    try {
      r = await api('GET', '/api/session');
    } catch (e) {
      setOnline(false);
      return null;
    }
    setOnline(true);
    if (r.status === 401 && S.token) {
      S.token = null;  // revoked or wrong: fall back to the session cookie
      await kvSet('token', null);
      return loadSession();
    }
    if (r.status !== 200 || !r.data) {
      setAuth(false);
      return false;
    }
    const before = S.user && S.user.username;
    S.user = r.data.user;
    S.csrf = r.data.csrf_token;
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
    $('who').textContent = u ? `${u.crew ? `Crew ${u.crew}` : u.role} · ${u.username}` : '';
    if (u && u.role !== 'crew' && u.role !== 'admin') {
      showAlert('This page is for crew accounts; you see every open job but cannot act as a crew.',
        'warn', 'role');
    }
  }

  // ----------------------------------------------------------------- jobs
  async function loadCached() {
    const [jobs, order, synced, session, token, device, feeders, shift] = await Promise.all([
      idbAll('jobs'), kvGet('jobs:order'), kvGet('jobs:synced'), kvGet('session'),
      kvGet('token'), kvGet('device'), kvGet('feeders'), kvGet('shift'),
    ]);
    for (const j of jobs || []) S.jobs.set(j.id, j);
    S.order = order || (jobs || []).map((j) => j.id);
    S.synced = synced || null;
    if (session) S.user = session.user;
    S.token = token || null;
    S.device = device || null;
    if (!S.device) {
      S.device = `h${uuid().replace(/-/g, '').slice(0, 10)}`;
      await kvSet('device', S.device);
    }
    for (const [k, v] of Object.entries(feeders || {})) S.feeders.set(k, v);
    S.shift = shift === true;
    S.shiftKnown = shift === true || shift === false;
    await loadOutbox();
  }

  let refreshing = null;
  let refreshAgain = false;
  function refreshJobs() {
    if (refreshing) { refreshAgain = true; return refreshing; }
    refreshing = doRefresh().finally(() => {
      refreshing = null;
      if (refreshAgain) { refreshAgain = false; refreshJobs(); }
    });
    return refreshing;
  }
  async function doRefresh() {
    let r;
    try {
      r = await api('GET', '/api/jobs?open=1');
    } catch (e) {
      setOnline(false);
      return;
    }
    setOnline(true);
    if (r.status === 401) { setAuth(false); return; }
    if (r.status !== 200 || !Array.isArray(r.data)) return;
    const list = r.data;
    const details = await Promise.all(list.map(async (j) => {
      try {
        const d = await api('GET', `/api/jobs/${encodeURIComponent(j.id)}`);
        return d.status === 200 && d.data ? d.data : j;
      } catch (e) {
        return S.jobs.get(j.id) || j;
      }
    }));
    const ids = new Set(details.map((j) => j.id));
    for (const old of S.jobs.values()) {
      if (!ids.has(old.id) && !S.closed.has(old.id) && !S.noticed.has(old.id) &&
          S.user && S.user.crew && old.crew === S.user.crew) {
        S.noticed.add(old.id);
        showAlert(`${old.id} is no longer assigned to you (recalled, reassigned or closed).`, 'warn',
          `lost:${old.id}`);
      }
    }
    await tx('jobs', 'readwrite', (s) => {
      s.clear();
      let last = null;
      for (const j of details) last = s.put(j);
      return last;
    });
    S.jobs = new Map(details.map((j) => [j.id, j]));
    S.order = details.map((j) => j.id);
    S.synced = new Date().toISOString();
    await kvSet('jobs:order', S.order);
    await kvSet('jobs:synced', S.synced);
    render();
    await loadFeeders(details);
    await loadCrew();
    for (const j of details) await autoDeliver(j);
  }
  async function loadFeeders(jobs) {
    const wanted = new Set(jobs.map((j) => j.device).filter(Boolean));
    const kept = {};
    for (const device of wanted) {
      try {
        const r = await api('GET', `/api/crew/feeder?element=${encodeURIComponent(device)}`);
        if (r.status === 200 && r.data) S.feeders.set(device, r.data);
      } catch (e) {
        break;
      }
      if (S.feeders.has(device)) kept[device] = S.feeders.get(device);
    }
    await kvSet('feeders', kept);
    if (S.current) renderDetail();
  }
  async function loadCrew() {
    if (!S.user || !S.user.crew) return;
    try {
      const r = await api('GET', '/api/crews');
      if (r.status === 200 && Array.isArray(r.data)) {
        S.crew = r.data.find((c) => c.id === S.user.crew) || null;
        await kvSet('crew', S.crew);
        if (!S.shiftKnown && S.crew) {
          S.shift = S.crew.status !== 'off_shift';
          S.shiftKnown = true;
          startGps();
        }
        renderShift();
        if (S.current) renderMap();
      }
    } catch (e) { /* offline: keep what we had */ }
  }
  /** The handheld confirms delivery (stamp E) once per dispatch of a job. */
  async function autoDeliver(job) {
    if (!S.user || S.user.crew !== job.crew || job.state !== 'dispatched') return;
    const key = `delivered:${job.id}:${(job.stamps || {}).D || ''}`;
    if (await kvGet(key)) return;
    await kvSet(key, true);
    await enqueue(job.id, 'deliver', {}, true);
  }

  // --------------------------------------------------------------- outbox
  async function loadOutbox() {
    const items = await idbAll('outbox');
    items.sort((a, b) => a.seq - b.seq);
    S.outbox = items;
    S.seq = items.reduce((m, i) => Math.max(m, i.seq), S.seq);
  }
  /** Queue an action (with its idempotency key and the time it was taken) and try to send it. */
  async function enqueue(jobId, action, extra, quiet) {
    const id = `crew-${S.device}-${uuid()}`;
    const body = Object.assign({ id, time: isoLocal() }, extra || {});
    S.seq = Math.max(S.seq + 1, Date.now() * 1000);
    const item = {
      id,
      seq: S.seq,
      user: S.user ? S.user.username : null,
      crew: S.user ? S.user.crew : null,
      job: jobId,
      action,
      path: jobId ? `/api/jobs/${encodeURIComponent(jobId)}/${action}`
        : `/api/crews/${encodeURIComponent((S.user || {}).crew || '')}/${action}`,
      body,
      created: body.time,
      status: 'queued',
      error: null,
      attempts: 0,
      quiet: !!quiet,
    };
    await idbPut('outbox', item);
    S.outbox.push(item);
    render();
    flushSoon(0);
    return item;
  }
  function reasonOf(r) {
    const d = r.data || {};
    if (Array.isArray(d.rejected) && d.rejected.length) {
      return d.rejected.map((x) => x.error || String(x)).join('; ');
    }
    if (d.error) return d.error;
    return `the server answered ${r.status}`;
  }

  let flushing = null;
  let flushTimer = null;
  function flushSoon(ms) {
    clearTimeout(flushTimer);
    flushTimer = setTimeout(() => { flush(); }, ms === undefined ? RETRY_MS : ms);
  }
  function flush() {
    if (flushing) return flushing;
    const run = () => sendOutbox();
    const p = navigator.locks ? navigator.locks.request('oms-crew-outbox', run) : run();
    flushing = p.catch(() => 'stalled').then((outcome) => {
      flushing = null;
      // More came in while sending: go again at once; else retry later.
      if (S.outbox.some((i) => i.status === 'queued')) flushSoon(outcome === 'progress' ? 100 : RETRY_MS);
    });
    return flushing;
  }
  /** Send the queued actions in order; stop at the first that cannot reach the server. */
  async function sendOutbox() {
    await loadOutbox();  // another tab may have sent some
    const queued = S.outbox.filter((i) => i.status === 'queued');
    if (!queued.length) { renderStatus(); return 'progress'; }
    if (S.authed !== true || (!S.token && !S.csrf)) {
      const ok = await loadSession();
      if (!ok) return 'stalled';
    }
    let sent = 0;
    let answered = 0;
    let stalled = false;
    for (const item of queued) {
      if (item.user && S.user && item.user !== S.user.username) continue;  // another crew's
      let r;
      try {
        item.attempts += 1;
        r = await api('POST', item.path, item.body);
        if (r.status === 400 && /csrf/i.test((r.data && r.data.error) || '')) {
          await loadSession();
          r = await api('POST', item.path, item.body);
        }
      } catch (e) {
        setOnline(false);
        stalled = true;
        break;
      }
      setOnline(true);
      answered += 1;
      if (r.status === 200) {
        await idbDelete('outbox', item.id);
        sent += 1;
        continue;
      }
      if (r.status === 401) { setAuth(false); stalled = true; break; }
      if (r.status >= 500 || r.status === 429 || r.status === 408) { stalled = true; break; }
      // Refused (422: rejected with the reason; 404: not this crew's job any more;
      // 409: the id was used with other content; 403, 400): the crew must see it.
      item.status = r.status === 409 ? 'conflict' : 'rejected';
      item.error = reasonOf(r);
      if (r.status === 404 && item.job) {
        item.error = `${item.job} is no longer assigned to your crew (recalled or reassigned). ` +
          `Server: ${item.error}`;
      } else if (r.status === 409) {
        item.error = `This action's id was already used for a different action. Server: ${item.error}`;
      }
      item.http = r.status;
      item.answered = isoLocal();
      await idbPut('outbox', item);
    }
    await loadOutbox();
    render();
    if (answered) refreshJobs();
    return stalled || !sent ? 'stalled' : 'progress';
  }
  async function dismiss(id) {
    await idbDelete('outbox', id);
    await loadOutbox();
    render();
  }

  // ------------------------------------------------------- derived state
  function pendingFor(jobId) {
    return S.outbox.filter((i) => i.job === jobId && i.status === 'queued');
  }
  /** The job's state as the crew sees it: the server's, moved on by actions not sent yet. */
  function effectiveState(job) {
    let idx = STATE_ORDER.indexOf(job.state);
    for (const i of pendingFor(job.id)) {
      const stage = STAGES.find((s) => s.action === i.action);
      const st = stage ? stage.state : i.action === 'close' ? 'closed'
        : i.action === 'deliver' ? 'delivered' : null;
      if (st) idx = Math.max(idx, STATE_ORDER.indexOf(st));
    }
    return idx >= 0 ? STATE_ORDER[idx] : job.state;
  }
  function stageStatus(job, stage) {
    const stamps = job.stamps || {};
    if (stamps[stage.stamp]) return { kind: 'done', time: stamps[stage.stamp] };
    const p = pendingFor(job.id).find((i) => i.action === stage.action);
    if (p) return { kind: 'pending', time: p.body.time };
    return { kind: 'open' };
  }

  // ------------------------------------------------------------- render
  function render() {
    renderStatus();
    renderRejected();
    renderList();
    renderOutbox();
    if (S.current) renderDetail();
  }
  function renderRejected() {
    const box = $('rejected');
    box.replaceChildren();
    for (const i of S.outbox.filter((x) => x.status !== 'queued')) {
      box.append(el('div', { class: 'banner bad', 'data-outbox': i.id, role: 'alert' },
        el('p', {}, el('strong', {}, `Not applied: ${ACTION_LABEL[i.action] || i.action}` +
          (i.job ? ` on ${i.job}` : '') + ` (pressed ${hhmm(i.created)})`)),
        el('p', { class: 'reason' }, i.error || 'refused by the server'),
        el('div', { class: 'row' },
          el('button', { class: 'btn small', type: 'button', onclick: () => dismiss(i.id) }, 'Dismiss'))));
    }
  }
  function renderList() {
    const ul = $('jobs');
    ul.replaceChildren();
    const jobs = S.order.map((id) => S.jobs.get(id)).filter(Boolean);
    $('jobs-empty').hidden = jobs.length > 0;
    for (const j of jobs) {
      const state = effectiveState(j);
      const pending = pendingFor(j.id).filter((i) => !i.quiet).length;
      const what = j.kind === 'single_customer'
        ? `Customer ${j.customer || ''}` : `Device ${j.device || ''}`;
      ul.append(el('li', {},
        el('a', { class: `card${j.hazard ? ' hazard' : ''}`, href: `#/job/${encodeURIComponent(j.id)}`, 'data-job': j.id },
          el('div', { class: 'top' }, el('span', {}, j.id), el('span', { class: 'state' }, STATE_LABEL[state] || state)),
          el('div', { class: 'sub' }, `${what} · ${j.area_class || ''}${j.zone ? ` · ${j.zone}` : ''}`),
          el('div', {},
            j.hazard ? el('span', { class: 'tag bad' }, 'HAZARD') : null,
            el('span', { class: 'tag' }, `priority ${Math.round(j.priority || 0)}`),
            (j.stamps || {}).A ? el('span', { class: 'tag' }, `reported ${ago(j.stamps.A)}`) : null,
            j.etr ? el('span', { class: 'tag' }, `ETR ${hhmm(j.etr)}`) : null,
            (j.breaches || []).length ? el('span', { class: 'tag bad' }, `late: ${j.breaches.join(', ')}`) : null,
            pending ? el('span', { class: 'tag pending' }, `${pending} waiting to send`) : null))));
    }
    const when = S.synced ? `Jobs as of ${hhmm(S.synced)} (${ago(S.synced)})` : 'Jobs not loaded yet';
    $('synced').textContent = S.online ? when : `${when} · offline: showing the last known list`;
  }
  function renderOutbox() {
    const queued = S.outbox.filter((i) => i.status === 'queued');
    $('outbox').hidden = queued.length === 0;
    $('outbox-n').textContent = String(queued.length);
    const ul = $('outbox-list');
    ul.replaceChildren(...queued.map((i) => el('li', { 'data-outbox': i.id },
      `${ACTION_LABEL[i.action] || i.action}${i.job ? ` · ${i.job}` : ''} · pressed ${hhmm(i.created)}` +
      (i.user && S.user && i.user !== S.user.username ? ` · waits for ${i.user} to sign in` : ''))));
  }

  // -------------------------------------------------------------- detail
  function openJob(id) {
    S.current = id;
    S.confirm = null;
    $('list-view').hidden = true;
    $('detail-view').hidden = false;
    $('back').hidden = false;
    $('title').textContent = id;
    const job = S.jobs.get(id);
    fillForms(job);
    renderDetail();
    renderMap(true);
    window.scrollTo(0, 0);
  }
  function closeJob() {
    S.current = null;
    $('list-view').hidden = false;
    $('detail-view').hidden = true;
    $('back').hidden = true;
    $('title').textContent = 'My jobs';
    renderList();
  }
  function fillForms(job) {
    $('estimate-form').reset();
    $('closeout-form').reset();
    $('co-error').textContent = '';
    if (!job) return;
    $('etr').value = toInput(job.etr);
    const o = job.outage_details || {};
    $('co-start').value = toInput(o.started || (job.stamps || {}).A);
    $('co-end').value = toInput(o.restored || (job.stamps || {}).restored) || toInput(new Date(omsClock.now()).toISOString());
    if (job.device) $('co-equipment').value = job.device;
  }
  function renderDetail() {
    const job = S.jobs.get(S.current);
    const head = $('job-head');
    $('job-body').hidden = !job;
    if (!job) {
      head.replaceChildren(el('p', { class: 'banner warn' },
        `${S.current} is not in your job list any more (recalled, reassigned or closed).`),
      el('a', { class: 'btn', href: '#' }, 'Back to my jobs'));
      return;
    }
    const state = effectiveState(job);
    head.replaceChildren(
      el('p', {},
        job.hazard ? el('span', { class: 'tag bad' }, 'HAZARD') : null,
        el('span', { class: 'tag' }, job.kind === 'single_customer' ? 'Single customer' : 'Network fault'),
        el('span', { class: 'tag' }, `${job.area_class || ''}${job.zone ? ` · ${job.zone}` : ''}`),
        el('span', { class: 'tag' }, `priority ${Math.round(job.priority || 0)}`),
        el('span', { class: 'tag ok', id: 'job-state' }, STATE_LABEL[state] || state)));
    renderStages(job);
    renderFacts(job);
    renderFeeder(job);
    renderTimeline(job);
    $('closeout-box').hidden = !['restored', 'closed'].includes(state);
  }
  function renderStages(job) {
    const box = $('stages');
    const mine = S.user && S.user.crew && S.user.crew === job.crew;
    let nextFound = false;
    box.replaceChildren(...STAGES.map((stage) => {
      const st = stageStatus(job, stage);
      let cls = 'btn stage';
      let note = '';
      if (st.kind === 'done') { cls += ' done'; note = `✓ ${hhmm(st.time)}`; }
      else if (st.kind === 'pending') { cls += ' pending'; note = `queued ${hhmm(st.time)} · to send`; }
      else if (!nextFound) { cls += ' next'; nextFound = true; }
      const confirming = S.confirm === stage.action;
      if (confirming) { cls += ' confirm'; note = 'Tap again to confirm'; }
      return el('button', {
        class: cls,
        type: 'button',
        'data-action': stage.action,
        disabled: st.kind !== 'open' || !mine,
        onclick: () => pressStage(job.id, stage),
      }, stage.label, note ? el('small', {}, note) : null);
    }));
    if (!mine) box.append(el('p', { class: 'muted' }, 'Only the assigned crew can report stages.'));
  }
  async function pressStage(jobId, stage) {
    // Restoring re-energizes the outage: ask for a second tap.
    if (stage.action === 'restored' && S.confirm !== stage.action) {
      S.confirm = stage.action;
      renderDetail();
      setTimeout(() => { if (S.confirm === stage.action) { S.confirm = null; renderDetail(); } }, 5000);
      return;
    }
    S.confirm = null;
    await enqueue(jobId, stage.action);
  }
  function fact(dl, label, value) {
    if (value === null || value === undefined || value === '') return;
    dl.append(el('dt', {}, label), el('dd', {}, value));
  }
  function renderFacts(job) {
    const dl = $('facts');
    dl.replaceChildren();
    const c = job.customer_details;
    if (c) {
      fact(dl, 'Customer', `${c.name || ''} (${c.id})`);
      fact(dl, 'Address', c.address);
      fact(dl, 'Phone', c.phone ? el('a', { href: `tel:${c.phone}` }, c.phone) : null);
      fact(dl, 'Critical', c.critical ? el('strong', { class: 'error' }, c.critical) : null);
    }
    const o = job.outage_details;
    if (o) {
      fact(dl, 'Outage', `${o.id} · ${o.state}`);
      fact(dl, 'Device', o.device || job.device);
      fact(dl, 'Customers out', String(o.customers_out));
      fact(dl, 'Critical out', o.critical_out ? el('strong', { class: 'error' }, String(o.critical_out)) : null);
      fact(dl, 'Calls', String(o.calls));
      fact(dl, 'Started', hhmm(o.started));
      fact(dl, 'Hazard', o.hazard ? el('strong', { class: 'error' }, 'reported (e.g. wire down)') : null);
    } else {
      fact(dl, 'Device', job.device);
    }
    fact(dl, 'ETR', job.etr ? `${hhmm(job.etr)}${job.etr_source ? ` (${job.etr_source})` : ''}` : null);
    fact(dl, 'Position', `${Number(job.lat).toFixed(5)}, ${Number(job.lon).toFixed(5)}`);
  }
  function renderFeeder(job) {
    const ol = $('feeder');
    const trace = job.device ? S.feeders.get(job.device) : null;
    if (!trace) {
      ol.replaceChildren(el('li', {}, job.device ? 'Not loaded yet (needs a connection once).' : 'No device: a customer service job.'));
      return;
    }
    const items = [];
    if (trace.source) items.push(el('li', {}, el('span', {}, `Source ${trace.source}`), el('span', { class: 'state-closed' }, 'energized')));
    else items.push(el('li', {}, el('span', {}, 'No source reaches this point'), el('span', { class: 'state-open' }, 'dead')));
    const devices = (trace.devices || []).filter((d) => d.operable || d.id === trace.element).reverse();
    for (const d of devices) {
      const differs = d.state !== d.normal_state;
      items.push(el('li', { 'data-device': d.id },
        el('span', {}, `${d.id} · ${d.kind}${d.id === trace.element ? ' (this job)' : ''}`),
        el('span', { class: `state-${d.state}` }, d.state + (differs ? ` (normally ${d.normal_state})` : ''))));
    }
    ol.replaceChildren(...items);
  }
  function renderTimeline(job) {
    const dl = $('timeline');
    dl.replaceChildren();
    const s = job.stamps || {};
    const names = [['A', 'Reported'], ['D', 'Dispatched'], ['E', 'Received'], ['F', 'Accepted'],
      ['G', 'Departed'], ['H', 'Arrived'], ['made_safe', 'Made safe'], ['repaired', 'Repaired'],
      ['restored', 'Restored']];
    for (const [k, label] of names) {
      if (s[k]) fact(dl, label, hhmm(s[k]));
    }
    const t = job.targets || {};
    if (t.arrival) fact(dl, 'Arrival target', `${t.arrival} min from report`);
    if ((job.breaches || []).length) fact(dl, 'Late', el('span', { class: 'error' }, job.breaches.join(', ')));
  }

  // ----------------------------------------------------------------- map
  let map = null;
  let layers = null;
  function crewPos() {
    if (S.pos) return S.pos;
    if (S.crew && S.crew.lon !== null && S.crew.lon !== undefined) {
      return { lon: S.crew.lon, lat: S.crew.lat, time: S.crew.gps_time };
    }
    return null;
  }
  function renderMap(reset) {
    const job = S.jobs.get(S.current);
    const box = $('map');
    const route = $('route');
    if (!job) { route.textContent = ''; return; }
    const target = { lon: Number(job.lon), lat: Number(job.lat) };
    const me = crewPos();
    const nav = el('a', { class: 'btn small', href: `geo:${target.lat},${target.lon}?q=${target.lat},${target.lon}` }, 'Navigate');
    const text = me
      ? `${(metres(me, target) / 1000).toFixed(1)} km ${bearing(me, target)} (straight line)`
      : 'Your position is not known yet.';
    route.replaceChildren(text, ' ', nav);
    if (!window.L) {
      box.classList.add('nomap');
      box.textContent = '';
      return;
    }
    box.classList.remove('nomap');
    if (!map) {
      map = window.L.map(box, { zoomControl: true, attributionControl: true });
      const tiles = app.dataset.tiles;
      if (tiles) window.L.tileLayer(tiles, { attribution: app.dataset.attribution || '' }).addTo(map);
      layers = window.L.layerGroup().addTo(map);
    }
    layers.clearLayers();
    window.L.circleMarker([target.lat, target.lon], { radius: 10, color: '#b3261e', fillOpacity: 0.8 })
      .bindTooltip(job.id).addTo(layers);
    const pts = [[target.lat, target.lon]];
    if (me) {
      window.L.circleMarker([me.lat, me.lon], { radius: 8, color: '#0b62c4', fillOpacity: 0.8 })
        .bindTooltip('You').addTo(layers);
      window.L.polyline([[me.lat, me.lon], [target.lat, target.lon]], { dashArray: '6 6', color: '#0b62c4' })
        .addTo(layers);
      pts.push([me.lat, me.lon]);
    }
    setTimeout(() => {
      map.invalidateSize();
      if (reset || pts.length > 1) {
        if (pts.length > 1) map.fitBounds(pts, { padding: [30, 30], maxZoom: 17 });
        else map.setView(pts[0], 16);
      }
    }, 0);
  }

  // ------------------------------------------------------ shift and GPS
  let watchId = null;
  let lastSent = null;   // {lon, lat, t}
  let unsent = null;     // the latest fix not sent yet (offline)
  function renderShift() {
    const btn = $('shift-btn');
    const mine = S.user && S.user.crew;
    btn.hidden = !mine;
    btn.textContent = S.shift ? 'End shift' : 'Start shift';
    btn.setAttribute('aria-pressed', S.shift ? 'true' : 'false');
    const gps = $('gps-status');
    if (!mine) { gps.textContent = ''; return; }
    if (!S.shift) gps.textContent = 'Off shift: your position is not shared.';
    else if (!('geolocation' in navigator)) gps.textContent = 'This device has no GPS.';
    else if (S.pos) gps.textContent = `Sharing position (last fix ${hhmm(S.pos.time)}).`;
    else gps.textContent = 'Waiting for a GPS fix…';
  }
  async function toggleShift() {
    S.shift = !S.shift;
    S.shiftKnown = true;
    await kvSet('shift', S.shift);
    // Only an off-shift crew becomes available; one holding jobs keeps its status.
    if (!S.shift) await enqueue(null, 'status', { status: 'off_shift' });
    else if (!S.crew || S.crew.status === 'off_shift') await enqueue(null, 'status', { status: 'available' });
    startGps();
    renderShift();
  }
  function startGps() {
    if (!('geolocation' in navigator)) return;
    if (S.shift && watchId === null && S.user && S.user.crew) {
      watchId = navigator.geolocation.watchPosition(onFix, (err) => {
        $('gps-status').textContent = `GPS: ${err.message || 'not available'}`;
      }, { enableHighAccuracy: true, maximumAge: 15000, timeout: 60000 });
    } else if (!S.shift && watchId !== null) {
      navigator.geolocation.clearWatch(watchId);
      watchId = null;
    }
  }
  function onFix(p) {
    const fix = { lon: p.coords.longitude, lat: p.coords.latitude, time: isoLocal(new Date(omsClock.now())) };
    S.pos = fix;
    renderShift();
    if (S.current) renderMap(false);
    const now = Date.now();
    const since = lastSent ? (now - lastSent.t) / 1000 : Infinity;
    const moved = lastSent ? metres(lastSent, fix) : Infinity;
    if (since >= GPS_MIN_S || (since >= GPS_MOVED_S && moved >= GPS_MOVED_M)) {
      unsent = { lon: fix.lon, lat: fix.lat, time: fix.time, id: `crew-${S.device}-gps-${uuid()}` };
      lastSent = { lon: fix.lon, lat: fix.lat, t: now };
      sendGps();
    }
  }
  /** Send the latest unsent fix (older ones are superseded, not queued). */
  async function sendGps() {
    if (!unsent || !S.user || !S.user.crew || S.authed !== true) return;
    const fix = unsent;
    try {
      const r = await api('POST', `/api/crews/${encodeURIComponent(S.user.crew)}/gps`, fix);
      setOnline(true);
      if (r.status === 401) { setAuth(false); return; }
      if (unsent === fix) unsent = null;
    } catch (e) {
      setOnline(false);
    }
  }

  // ---------------------------------------------------------- live stream
  let streamCtrl = null;
  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { refreshJobs(); }, 300);
  }
  /** A notice for the crew; one with the same ``key`` replaces the earlier one. */
  function showAlert(text, level, key) {
    const box = $('alerts');
    if (key) {
      for (const old of box.querySelectorAll('[data-key]')) if (old.dataset.key === key) old.remove();
    }
    const b = el('div', { class: `banner ${level || ''}`, role: 'status', 'data-key': key || null },
      el('p', {}, text),
      el('div', { class: 'row' }, el('button', { class: 'btn small', type: 'button', onclick: () => b.remove() }, 'OK')));
    box.prepend(b);
    while (box.children.length > 5) box.lastChild.remove();
  }
  function onStreamEvent(kind, data) {
    if (kind === 'hello') return;
    if (kind === 'alert') {
      const a = (data && data.data) || {};
      const say = ALERT_TEXT[a.kind];
      const lost = a.job && (a.kind === 'recalled' || a.kind === 'job_cancelled');
      if (say) showAlert(say(a), 'warn', lost ? `lost:${a.job}` : null);
      if (lost) S.noticed.add(a.job);
    }
    if (kind === 'job' || kind === 'crew' || kind === 'alert') refreshSoon();
  }
  function parseBlock(block) {
    let kind = 'message';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') kind = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') S.lastEventId = value;
    }
    if (!data.length) return;
    let parsed = null;
    try { parsed = JSON.parse(data.join('\n')); } catch (e) { return; }
    onStreamEvent(kind, parsed);
  }
  /** Server-Sent Events over fetch (so a bearer token can be sent), reconnecting forever. */
  async function streamLoop() {
    let backoff = 1000;
    for (;;) {
      if (S.authed !== true || !S.online) {
        // Probe now and then: the 'online' event is not always fired.
        await sleep(S.authed === false ? 15000 : 3000);
        if (await loadSession()) { refreshSoon(); flushSoon(0); }
        continue;
      }
      streamCtrl = new AbortController();
      try {
        const h = { Accept: 'text/event-stream' };
        if (S.token) h.Authorization = `Bearer ${S.token}`;
        if (S.lastEventId) h['Last-Event-ID'] = S.lastEventId;
        const res = await fetch('/stream', { headers: h, credentials: 'same-origin', cache: 'no-store', signal: streamCtrl.signal });
        if (res.status === 401) { setAuth(false); continue; }
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        setOnline(true);
        backoff = 1000;
        refreshSoon();
        flushSoon(0);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let m;
          while ((m = /\r?\n\r?\n/.exec(buf))) {
            parseBlock(buf.slice(0, m.index));
            buf = buf.slice(m.index + m[0].length);
          }
        }
      } catch (e) { /* dropped: reconnect */ }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 30000);
    }
  }

  // ------------------------------------------------------------- routing
  function route() {
    const m = /^#\/job\/(.+)$/.exec(location.hash);
    if (m) openJob(decodeURIComponent(m[1]));
    else closeJob();
  }

  // --------------------------------------------------------------- forms
  function wireForms() {
    $('back').addEventListener('click', () => { location.hash = ''; });
    $('shift-btn').addEventListener('click', toggleShift);
    $('send-now').addEventListener('click', () => { loadSession().then(() => flush()); });
    $('token-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const value = $('token').value.trim();
      S.token = value || null;
      await kvSet('token', S.token);
      $('token').value = '';
      if (await loadSession()) { await refreshJobs(); flush(); }
    });
    $('estimate-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const etr = fromInput($('etr').value);
      if (!etr || !S.current) return;
      await enqueue(S.current, 'estimate', { etr });
    });
    $('closeout-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = ev.target;
      const start = fromInput(f.outage_start.value);
      const end = fromInput(f.outage_end.value);
      if (!start || !end) { $('co-error').textContent = 'Give the outage start and end.'; return; }
      if (new Date(end) < new Date(start)) { $('co-error').textContent = 'The outage cannot end before it started.'; return; }
      $('co-error').textContent = '';
      const closeout = {
        cause: f.cause.value.trim(),
        equipment: f.equipment.value.trim(),
        actions: f.actions.value.trim(),
        outage_start: start,
        outage_end: end,
        remarks: f.remarks.value.trim() || null,
      };
      S.closed.add(S.current);
      await enqueue(S.current, 'close', { closeout });
      location.hash = '';
    });
    window.addEventListener('hashchange', route);
    window.addEventListener('online', () => { S.online = true; renderStatus(); loadSession().then(() => { refreshJobs(); flush(); }); });
    window.addEventListener('offline', () => setOnline(false));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') { flushSoon(0); refreshSoon(); }
    });
  }

  // --------------------------------------------------------------- start
  async function start() {
    wireForms();
    S.db = await openDb();
    await loadCached();
    S.crew = (await kvGet('crew')) || null;
    // A device set up from a link /crew/#token=... (the fragment never reaches a server log).
    const setup = /^#token=(.+)$/.exec(location.hash);
    if (setup) {
      S.token = decodeURIComponent(setup[1]);
      await kvSet('token', S.token);
      history.replaceState(null, '', location.pathname);
    }
    render();
    route();
    renderShift();
    // Ask the browser not to evict the outbox under storage pressure.
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/crew/sw.js', { scope: '/crew/' }).catch(() => {});
    }
    const ok = await loadSession();
    if (ok === false && !S.user) {
      location.assign('/login?next=/crew/');
      return;
    }
    startGps();
    renderShift();
    if (ok) {
      await refreshJobs();
      flush();
    }
    streamLoop();
    setInterval(() => {
      if (S.outbox.some((i) => i.status === 'queued')) flush();
      if (unsent) sendGps();
      renderList();
    }, 30000);
    app.dataset.ready = '1';
  }

  window.omsCrew = { state: S, flush, refreshJobs, enqueue };
  start().catch((e) => {
    showAlert(`The handheld could not start: ${e && e.message ? e.message : e}`, 'bad');
  });
}());
