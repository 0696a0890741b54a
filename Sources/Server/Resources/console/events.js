// The live connection: one EventSource on /api/events shared by every page.
// EventSource reconnects by itself (sending Last-Event-ID) after a dropped
// connection; when the server refuses the stream (e.g. an older server without
// /api/events answers 404) the browser gives up, and we try again later with a
// growing delay.

// 'resync': the server says this client missed more than it can replay, so pages reload what they show.
const EVENT_NAMES = ['message.created', 'message.updated', 'rules.activated', 'resync'];

const listeners = new Map(); // name -> Set(fn)
const statusListeners = new Set();

let source = null;
let retryTimer = null;
let retryDelay = 5000;
const state = {
  status: 'connecting', // connecting | live | reconnecting | unavailable
  detail: '',
  lastEventId: null,
  received: 0,
  connectedAt: null,
  lastEventAt: null,
};

export function liveState() {
  return { ...state };
}

function setStatus(status, detail = '') {
  state.status = status;
  state.detail = detail;
  for (const fn of statusListeners) {
    try { fn(liveState()); } catch (err) { reportListenerError(err); }
  }
}

function reportListenerError(err) {
  // A page's handler failing must not break the stream; keep it visible for developers.
  console.warn('live event handler failed', err);
}

function dispatch(name, event) {
  state.received += 1;
  state.lastEventAt = new Date();
  if (event.lastEventId) state.lastEventId = event.lastEventId;
  let data = null;
  try { data = JSON.parse(event.data); } catch { return; }
  const set = listeners.get(name);
  if (set) {
    for (const fn of [...set]) {
      try { fn(data, event); } catch (err) { reportListenerError(err); }
    }
  }
  for (const fn of statusListeners) {
    try { fn(liveState()); } catch (err) { reportListenerError(err); }
  }
}

/** Closes the stream (the page is going away, or the tab has been hidden for a while). */
export function disconnect(detail = 'paused') {
  clearTimeout(retryTimer);
  if (source) {
    source.close();
    source = null;
  }
  needResync = true;
  setStatus('unavailable', detail);
}

// Events may be missed while no stream is open: pages subscribed to 'resync' reload their data when a new
// stream opens after such a gap.
let needResync = false;

export function connect() {
  if (typeof EventSource === 'undefined') {
    setStatus('unavailable', 'this browser has no EventSource');
    return;
  }
  if (source) return;
  clearTimeout(retryTimer);
  setStatus(state.connectedAt ? 'reconnecting' : 'connecting');
  const es = new EventSource('/api/events');
  source = es;
  es.addEventListener('open', () => {
    retryDelay = 5000;
    state.connectedAt = new Date();
    setStatus('live');
    if (needResync) {
      needResync = false;
      const set = listeners.get('resync');
      if (set) for (const fn of [...set]) { try { fn({}); } catch (err) { reportListenerError(err); } }
    }
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (a non-200 answer, or a wrong content type): try again later.
      source = null;
      needResync = true;
      setStatus('unavailable', `live updates unavailable; retrying in ${Math.round(retryDelay / 1000)} s`);
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 120000);
    } else {
      setStatus('reconnecting', 'connection lost; reconnecting');
    }
  });
  for (const name of EVENT_NAMES) {
    es.addEventListener(name, (event) => dispatch(name, event));
  }
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
  window.addEventListener('pageshow', (event) => { if (event.persisted) connect(); });
  document.addEventListener('visibilitychange', () => {
    clearTimeout(hiddenTimer);
    if (document.visibilityState === 'hidden') {
      hiddenTimer = setTimeout(() => disconnect('paused while the tab is hidden'), HIDDEN_GRACE_MS);
    } else if (!source) {
      connect();
    }
  });
}
