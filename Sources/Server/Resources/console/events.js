// The live connection: one Server-Sent Events stream on /api/events shared by every page.
//
// EventSource cannot send headers, and the key must never go in a URL, so the stream is read with fetch():
// a ReadableStream decoded with TextDecoder and parsed as the SSE spec says (id, event, data and retry
// fields; comments; CR, LF or CRLF line ends). A dropped stream is opened again after the server's `retry`
// time with a Last-Event-ID header, so that the server replays what was missed (or sends `resync`); failed
// attempts back off, doubling up to two minutes. A 401 goes to the same handler as any API call (it asks
// for a key) and the stream stays closed until connect() is called again.
import { authHeaders, errorMessage, getToken } from './api.js';

// 'resync': the server says this client missed more than it can replay, so pages reload what they show.
export const EVENT_NAMES = ['message.created', 'message.updated', 'rules.activated', 'resync'];

const INITIAL_RETRY_MS = 2000; // until the server sends its own `retry:`
const FAILED_RETRY_MS = 5000; // first delay after the server refused the stream (a non-200 answer)
const MAX_RETRY_MS = 120000;
const MIN_RETRY_MS = 1000; // a `retry:` below this (0 from a proxy) would reconnect in a tight loop
const STABLE_MS = 10000; // a stream that stayed open this long (or delivered an event) resets the backoff

const listeners = new Map(); // name -> Set(fn)
const statusListeners = new Set();

let controller = null; // the AbortController of the open (or opening) stream
let wanted = false; // connect() was called and neither close() nor a 401 has stopped it since
let retryTimer = null;
let reconnectMs = INITIAL_RETRY_MS; // the SSE "reconnection time"
let failures = 0; // attempts in a row that did not open a stream
let unauthorized = null; // fn(message) for a 401
const state = {
  status: 'connecting', // connecting | live | reconnecting | unavailable
  detail: '',
  lastEventId: null,
  received: 0,
  connectedAt: null,
  lastEventAt: null,
};

// Events may be missed while no stream is open: pages subscribed to 'resync' reload their data when a new
// stream opens after such a gap.
let needResync = false;

export function liveState() {
  return { ...state };
}

/** fn(message) is called when the server refuses the stream with 401. */
export function onStreamUnauthorized(fn) {
  unauthorized = fn;
}

function notifyStatus() {
  for (const fn of [...statusListeners]) {
    try { fn(liveState()); } catch (err) { reportListenerError(err); }
  }
}

function setStatus(status, detail = '') {
  state.status = status;
  state.detail = detail;
  notifyStatus();
}

function reportListenerError(err) {
  // A page's handler failing must not break the stream; keep it visible for developers.
  console.warn('live event handler failed', err);
}

function emit(name, data, event) {
  const set = listeners.get(name);
  if (!set) return;
  for (const fn of [...set]) {
    try { fn(data, event); } catch (err) { reportListenerError(err); }
  }
}

function dispatch(name, event) {
  state.received += 1;
  state.lastEventAt = new Date();
  let data = null;
  try { data = JSON.parse(event.data); } catch { notifyStatus(); return; }
  emit(name, data, event);
  notifyStatus();
}

/**
 * An SSE parser (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * feed it decoded text in any pieces; it calls onEvent({type, data, lastEventId}) for each dispatched event and
 * onRetry(ms) for a valid retry field, and onLastEventId(id) at every blank line (when the id takes effect).
 */
export function sseParser({ onEvent, onRetry, onLastEventId, lastEventId: initialId = '' }) {
  let buffer = '';
  let skipLF = false; // the last piece ended in CR: a LF starting the next one belongs to it
  let first = true;
  let data = '';
  let type = '';
  let lastEventId = initialId; // like EventSource's, it carries over from the stream before

  function line(text) {
    if (text === '') {
      // Dispatch: the id counts from here (even for an event without data, which is dropped).
      if (onLastEventId) onLastEventId(lastEventId);
      if (data !== '') {
        onEvent({ type: type || 'message', data: data.endsWith('\n') ? data.slice(0, -1) : data, lastEventId });
      }
      data = '';
      type = '';
      return;
    }
    if (text.charCodeAt(0) === 58) return; // ':' — a comment (the server's keep-alives)
    const colon = text.indexOf(':');
    let field = text;
    let value = '';
    if (colon >= 0) {
      field = text.slice(0, colon);
      value = text.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
    }
    if (field === 'event') type = value;
    else if (field === 'data') data += `${value}\n`;
    else if (field === 'id') {
      if (!value.includes('\0')) lastEventId = value;
    } else if (field === 'retry') {
      if (/^[0-9]+$/.test(value) && onRetry) onRetry(Number(value));
    }
  }

  return function feed(chunk) {
    let text = chunk;
    if (first && text.length) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (!text) return; // an empty piece says nothing about a LF after a CR
    if (skipLF && text.charCodeAt(0) === 10) text = text.slice(1);
    skipLF = false;
    buffer += text;
    let start = 0;
    for (let i = 0; i < buffer.length; i += 1) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      line(buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 < buffer.length) {
          if (buffer.charCodeAt(i + 1) === 10) i += 1;
        } else {
          skipLF = true;
        }
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
  };
}

/** Reads one stream until it ends; resolves true when it opened, false when the server refused it. */
async function openStream(ctrl) {
  const sent = getToken();
  const headers = { Accept: 'text/event-stream', ...authHeaders(sent) };
  if (state.lastEventId !== null && state.lastEventId !== '') headers['Last-Event-ID'] = state.lastEventId;
  const response = await fetch('/api/events', { headers, signal: ctrl.signal, cache: 'no-store' });
  const type = response.headers.get('Content-Type') || '';
  if (!response.ok || !/^text\/event-stream/i.test(type) || !response.body) {
    let data = null;
    try { const text = await response.text(); data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    const message = errorMessage(response, data);
    if (response.status === 401) {
      wanted = false;
      needResync = true;
      setStatus('unavailable', `live updates need a key: ${message}`);
      if (unauthorized) unauthorized(message, sent);
      return 'unauthorized';
    }
    const err = new Error(response.ok ? `the server answered ${type || 'no content type'}` : message);
    err.refused = true;
    throw err;
  }

  const openedAt = Date.now();
  let sawEvent = false;
  state.connectedAt = new Date();
  setStatus('live');
  if (needResync) {
    needResync = false;
    emit('resync', {});
  }

  const parse = sseParser({
    onEvent: (event) => { if (ctrl === controller) { sawEvent = true; dispatch(event.type, event); } },
    onRetry: (ms) => { reconnectMs = Math.max(MIN_RETRY_MS, ms); },
    lastEventId: state.lastEventId ?? '',
    onLastEventId: (id) => { if (ctrl === controller) state.lastEventId = id === '' ? null : id; },
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8');
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parse(decoder.decode(value, { stream: true }));
    }
    parse(decoder.decode());
  } finally {
    try { reader.releaseLock(); } catch { /* already released */ }
  }
  // A stream that ended at once without an event (a proxy, a server answering and closing) is not a success.
  return sawEvent || Date.now() - openedAt >= STABLE_MS ? 'ended' : 'ended-quickly';
}

function scheduleReconnect(delay, status, detail) {
  clearTimeout(retryTimer);
  setStatus(status, detail);
  retryTimer = setTimeout(() => { retryTimer = null; open(); }, delay);
}

async function open() {
  if (!wanted || controller) return;
  clearTimeout(retryTimer);
  const ctrl = new AbortController();
  controller = ctrl;
  setStatus(state.connectedAt ? 'reconnecting' : 'connecting', state.connectedAt ? 'reconnecting' : '');
  let outcome;
  let error = null;
  try {
    outcome = await openStream(ctrl);
  } catch (err) {
    error = err;
  }
  if (controller !== ctrl) return; // closed (or replaced) meanwhile
  controller = null;
  if (ctrl.signal.aborted || !wanted || outcome === 'unauthorized') return;
  if (outcome === 'ended') {
    // The server closed a stream that had worked: come back after its retry time, asking for what was missed.
    failures = 0;
    scheduleReconnect(reconnectMs, 'reconnecting', 'connection lost; reconnecting');
    return;
  }
  // Refused, unreachable, or a stream that ended at once: back off instead of asking again and again.
  failures += 1;
  needResync = true;
  const base = error && error.refused ? Math.max(FAILED_RETRY_MS, reconnectMs) : reconnectMs;
  const delay = Math.min(base * 2 ** (failures - 1), MAX_RETRY_MS);
  const why = error && error.refused ? `live updates unavailable (${error.message})` : 'the server cannot be reached';
  scheduleReconnect(delay, error && error.refused ? 'unavailable' : 'reconnecting', `${why}; retrying in ${Math.round(delay / 1000)} s`);
}

/** Opens the stream (with the stored key) unless it is open already. `fresh`: the pages have just loaded what
 *  they show (after signing in), so a gap before this stream needs no resync. */
export function connect({ fresh = false } = {}) {
  wanted = true;
  if (fresh) needResync = false;
  if (controller) return;
  failures = 0;
  open();
}

function abort() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (controller) {
    const ctrl = controller;
    controller = null;
    ctrl.abort();
  }
}

/** Closes the stream for a while (the page is going away, or the tab has been hidden); it comes back when the
 *  page is shown again. */
export function disconnect(detail = 'paused') {
  abort();
  needResync = true;
  setStatus('unavailable', detail);
}

/** Closes the stream for good (signing out, or the key stopped working): only connect() opens it again. */
export function close(detail = 'signed out') {
  wanted = false;
  disconnect(detail);
}

/** Subscribe to a named event; returns the unsubscribe function. */
export function on(name, fn) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(fn);
  return () => listeners.get(name).delete(fn);
}

/** Subscribe to connection-status changes (called at once with the current state). */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(liveState());
  return () => statusListeners.delete(fn);
}

export const STATUS_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  unavailable: 'Offline',
};

// A browser holds at most six connections to one server over HTTP/1.1, and every open stream takes one:
// close ours when the page goes away (or into the back/forward cache) and when the tab stays hidden, so that
// pages and tabs left behind do not starve the ones in use.
const HIDDEN_GRACE_MS = 60000;
let hiddenTimer = null;
if (typeof window !== 'undefined') {
  window.addEventListener('pagehide', () => disconnect('page closed'));
  window.addEventListener('pageshow', (event) => { if (event.persisted && wanted) { failures = 0; open(); } });
  document.addEventListener('visibilitychange', () => {
    clearTimeout(hiddenTimer);
    if (document.visibilityState === 'hidden') {
      hiddenTimer = setTimeout(() => disconnect('paused while the tab is hidden'), HIDDEN_GRACE_MS);
    } else if (wanted && !controller) {
      failures = 0;
      open();
    }
  });
}
