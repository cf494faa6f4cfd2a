/*
 * The handheld's IndexedDB database 'oms-crew': the outbox (actions not sent
 * yet, or refused), the jobs last seen, and a key-value store (session,
 * token, device id, feeders, shift, ...).
 */
import { S } from './state.js';

const DB_NAME = 'oms-crew';
const DB_VERSION = 1;

export function openDb() {
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

/** Runs `fn(store)` in a transaction; resolves with the last request's result when it commits. */
export function tx(name, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = S.db.transaction(name, mode);
    const req = fn(t.objectStore(name));
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export const idbAll = (name) => tx(name, 'readonly', (s) => s.getAll());
export const idbPut = (name, value, key) => tx(name, 'readwrite', (s) => s.put(value, key));
export const idbDelete = (name, key) => tx(name, 'readwrite', (s) => s.delete(key));
export const kvGet = (key) => tx('kv', 'readonly', (s) => s.get(key));
export const kvSet = (key, value) => idbPut('kv', value, key);
