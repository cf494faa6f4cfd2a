/* Distances and directions on the earth, for the way to a job and GPS throttling. */

const R = 6371008.8;  // mean earth radius, m
const RAD = Math.PI / 180;

/** Great-circle distance in metres between two {lon, lat}. */
export function metres(a, b) {
  const dlat = (b.lat - a.lat) * RAD;
  const dlon = (b.lon - a.lon) * RAD;
  const x = Math.sin(dlat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dlon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(x));
}

/** The compass direction from a to b: N, NE, E, ... */
export function bearing(a, b) {
  const y = Math.sin((b.lon - a.lon) * RAD) * Math.cos(b.lat * RAD);
  const x = Math.cos(a.lat * RAD) * Math.sin(b.lat * RAD) -
    Math.sin(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.cos((b.lon - a.lon) * RAD);
  const deg = (Math.atan2(y, x) / RAD + 360) % 360;
  return ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'][Math.round(deg / 45) % 8];
}
