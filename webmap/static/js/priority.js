/*
 * A job's priority as of a time (epoch ms on the server's clock, clock.js).
 *
 * A job document carries its priority as of when the server wrote it, and
 * how it ages (`priority_ageing`: `base`, `per_10_min`, `cap_min`;
 * docs/dispatch.md): a waiting job gains `per_10_min` every 10 minutes
 * since its stamp A, up to `cap_min`, until supply is back. The server
 * does not send a job again at each step, so pages age it here, as the
 * API does when it is read.
 */

/** The priority of `job` at `t` (ms), rounded to 2 decimals as the server does. */
export function priorityAt(job, t) {
  const rule = job?.priority_ageing;
  const a = job?.stamps?.A;
  if (!rule || !a) return Number(job?.priority ?? 0);
  const back = job.stamps.restored ? Date.parse(job.stamps.restored) : Infinity;
  const minutes = Math.max(0, (Math.min(t, back) - Date.parse(a)) / 60000);
  const steps = Math.floor(Math.min(minutes, rule.cap_min) / 10);
  return Math.round((rule.base + rule.per_10_min * steps) * 100) / 100;
}
