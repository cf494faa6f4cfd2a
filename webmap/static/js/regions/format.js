/* How /regions writes counts and times (times in this browser's zone), as the overview does. */

const pad = (n) => String(n).padStart(2, '0');

/** 12,345 */
export const count = (n) => Number(n ?? 0).toLocaleString('en-US');

/** HH:MM, or a dash. */
export function hhmm(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
