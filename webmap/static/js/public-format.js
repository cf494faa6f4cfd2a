/* How the public pages write times and counts (in the reader's locale and time zone). */

/** "Mon 14:05" in the reader's locale, or null. */
export function when(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  return d.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
}

/** 12,345 in the reader's locale. */
export const count = (x) => Number(x || 0).toLocaleString();
