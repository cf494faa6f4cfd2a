/*
 * The crew handheld's service worker (served as /crew/sw.js, scope /crew/).
 *
 * It keeps the app shell (the page, its ES modules, style, icons and the
 * vendored Leaflet) so the handheld starts without signal. The page itself
 * keeps the data (jobs, their map data, the outbox) in IndexedDB; API calls,
 * map data (/map/) and the live stream are never answered from here, so the
 * page always knows whether the server was reached.
 *
 * Navigations: network first (a fresh shell when online), the cached shell
 * when the network fails or takes more than NAV_TIMEOUT_MS. Other shell
 * files: from the cache, refreshed in the background. The cache name
 * carries the shell's digest; a new release installs a new cache and
 * deletes the old ones.
 */
'use strict';

const VERSION = '__VERSION__';
const CACHE = `oms-crew-${VERSION}`;
const SHELL_URL = '/crew/';
const NAV_TIMEOUT_MS = 4000;
// The page's entry module imports the ES modules below: a start without
// signal needs every one of them (tests/test_static.py checks the list).
const SHELL = [
  SHELL_URL,
  '/static/crew.js',
  '/static/js/api.js',
  '/static/js/clock.js',
  '/static/js/dom.js',
  '/static/js/priority.js',
  '/static/js/storm.js',
  '/static/js/crew/damage.js',
  '/static/js/crew/damageview.js',
  '/static/js/crew/detail.js',
  '/static/js/crew/directions.js',
  '/static/js/crew/facts.js',
  '/static/js/crew/forms.js',
  '/static/js/crew/geo.js',
  '/static/js/crew/gps.js',
  '/static/js/crew/idb.js',
  '/static/js/crew/ids.js',
  '/static/js/crew/jobmap.js',
  '/static/js/crew/jobs.js',
  '/static/js/crew/list.js',
  '/static/js/crew/notices.js',
  '/static/js/crew/outbox.js',
  '/static/js/crew/session.js',
  '/static/js/crew/state.js',
  '/static/js/crew/status.js',
  '/static/js/crew/stream.js',
  '/static/js/crew/switching.js',
  '/static/js/crew/switchview.js',
  '/static/js/crew/time.js',
  '/static/js/crew/vocab.js',
  '/static/crew.css',
  '/crew/manifest.webmanifest',
  '/static/icons/crew-192.png',
  '/static/icons/crew-512.png',
  '/static/icons/crew-maskable-512.png',
];
// Served by the dispatcher blueprint's /vendor route; the handheld works without them.
const OPTIONAL = [
  '/vendor/leaflet/leaflet.js',
  '/vendor/leaflet/leaflet.css',
  '/vendor/leaflet/images/marker-icon.png',
  '/vendor/leaflet/images/marker-icon-2x.png',
  '/vendor/leaflet/images/marker-shadow.png',
  '/vendor/leaflet/images/layers.png',
  '/vendor/leaflet/images/layers-2x.png',
];
const NEVER = [/^\/api\//, /^\/map\//, /^\/stream/, /^\/login/, /^\/logout/];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((u) => new Request(u, { cache: 'reload', credentials: 'same-origin' })));
    await Promise.all(OPTIONAL.map(async (u) => {
      try {
        const res = await fetch(u, { cache: 'reload' });
        if (res.ok) await cache.put(u, res);
      } catch (e) { /* optional */ }
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('oms-crew-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function timeout(ms) {
  return new Promise((resolve, reject) => setTimeout(() => reject(new Error('timeout')), ms));
}

async function navigate(request) {
  const cache = await caches.open(CACHE);
  try {
    const res = await Promise.race([fetch(request), timeout(NAV_TIMEOUT_MS)]);
    const url = new URL(res.url || request.url);
    if (res.ok && !res.redirected && url.pathname === SHELL_URL) {
      await cache.put(SHELL_URL, res.clone());
    }
    return res;
  } catch (e) {
    const cached = await cache.match(SHELL_URL);
    if (cached) return cached;
    throw e;
  }
}

async function shellFile(event) {
  const request = event.request;
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  const refresh = fetch(request).then(async (res) => {
    if (res.ok) await cache.put(request, res.clone());
    return res;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => {}));
    return cached;
  }
  return refresh;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NEVER.some((re) => re.test(url.pathname))) return;
  if (request.mode === 'navigate') {
    if (url.pathname.startsWith('/crew/')) event.respondWith(navigate(request));
    return;
  }
  const known = SHELL.includes(url.pathname) || url.pathname.startsWith('/vendor/');
  if (known) event.respondWith(shellFile(event));
});
