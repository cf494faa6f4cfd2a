/*
 * Fetches that fold together: a page that fetches its documents again on
 * every change of a live stream asks `soon()`; changes arriving together,
 * or while a fetch is out, become one more fetch, never two at once, and
 * fetches are at least `minGapMs` apart.
 */

/** `soon`, which runs `load` (async) once soon, whatever else asks meanwhile. */
export function coalesced(load, minGapMs) {
  let inFlight = false;
  let again = false;
  let timer = null;
  let last = -Infinity;

  async function now() {
    timer = null;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    last = performance.now();
    try {
      await load();
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        soon();
      }
    }
  }

  function soon() {
    if (inFlight) {
      again = true;
      return;
    }
    if (timer) return;
    timer = setTimeout(now, Math.max(0, last + minGapMs - performance.now()));
  }

  return soon;
}
