/* The server's clock in the browser: window.omsClock.now() in epoch ms.
 *
 * Countdowns and the times a handheld stamps on a crew's actions must follow
 * the server's clock, not the device's: handheld clocks drift, and `oms demo`
 * runs simulated time faster than real time. GET /api/clock gives the
 * server's now and its speed (simulated seconds per real second); the
 * calibration is kept in localStorage so an offline handheld keeps it.
 */
(function () {
  'use strict';
  var KEY = 'oms-clock';
  var cal = null;
  try { cal = JSON.parse(localStorage.getItem(KEY) || 'null'); } catch (e) { cal = null; }

  function now() {
    if (!cal) return Date.now();
    return cal.server + (Date.now() - cal.local) * cal.speed;
  }

  function calibrate() {
    var sent = Date.now();
    return fetch('/api/clock', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) {
        if (!doc || !doc.now) return;
        var back = Date.now();
        // The server read its clock about halfway through the round trip.
        cal = { server: Date.parse(doc.now), local: (sent + back) / 2, speed: Number(doc.speed) || 1 };
        try { localStorage.setItem(KEY, JSON.stringify(cal)); } catch (e) { /* private mode */ }
      })
      .catch(function () { /* offline: keep the last calibration */ });
  }

  window.omsClock = { now: now, calibrate: calibrate, ready: calibrate() };
  setInterval(calibrate, 60000);
})();
