/*
 * The handheld's ids: its device id (kept in IndexedDB, or given by the
 * server for a registered device) and the idempotency keys of its actions,
 * crew-<device>-<uuid>, which make a replay after a lost answer harmless.
 */
import { S } from './state.js';

export function uuid() {
  if (self.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A new device id, h + ten hex digits. */
export const newDeviceId = () => `h${uuid().replace(/-/g, '').slice(0, 10)}`;

/** The id of a new event from this handheld (`kind`: e.g. 'gps'). */
export const eventId = (kind) => `crew-${S.device}-${kind ? `${kind}-` : ''}${uuid()}`;
