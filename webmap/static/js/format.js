/* How the staff pages write times, durations and counts (times in this browser's zone). */

const pad = (n) => String(n).padStart(2, '0');

/** HH:MM, or a dash. */
export function hhmm(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** How long from `iso` to `asOf` (the server's time of the figures): "12 min", "2 h 05 min". */
export function age(iso, asOf) {
  if (!iso || !asOf) return '';
  const min = Math.max(0, Math.floor((Date.parse(asOf) - Date.parse(iso)) / 60000));
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${pad(min % 60)} min`;
}

/** 12,345 */
export const count = (n) => Number(n ?? 0).toLocaleString('en-US');

/** on_site -> "on site". */
export const human = (name) => String(name ?? '').replace(/_/g, ' ');
