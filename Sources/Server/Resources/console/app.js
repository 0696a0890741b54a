// The console's entry point: who is signed in (the key prompt), hash routing, the navigation and the live
// indicator.
import { h, replaceChildren, refreshAges } from './dom.js';
import { clearErrors, showError, showStatus } from './alerts.js';
import { getToken, setToken, onUnauthorized } from './api.js';
import { setIdentity, whoami, can, describe, registerSession } from './auth.js';
import { connect, close as closeEvents, onStatus, onStreamUnauthorized, STATUS_TEXT } from './events.js';
import { renderPrompt } from './signin.js';
import * as inbox from './inbox.js';
import * as ticket from './ticket.js';
import * as rules from './rules.js';
import * as playground from './playground.js';
import * as settings from './settings.js';

// Routes: #/inbox (default), #/ticket/123, #/rules, #/playground, #/settings.
// Each page module exports mount(view, params, query) and may return a cleanup function.
const routes = [
  { name: 'inbox', pattern: /^\/inbox\/?$/, page: inbox, title: 'Inbox' },
  { name: 'inbox', pattern: /^\/ticket\/(\d+)\/?$/, page: ticket, title: 'Ticket', keys: ['id'] },
  { name: 'rules', pattern: /^\/rules\/?$/, page: rules, title: 'Rules' },
  { name: 'playground', pattern: /^\/playground\/?$/, page: playground, title: 'Playground' },
  { name: 'settings', pattern: /^\/settings\/?$/, page: settings, title: 'Settings' },
];

let cleanup = null;
let firstRoute = true;
// 'starting' (asking /api/whoami), 'prompt' (the key prompt, nothing else), 'unreachable' (whoami failed: trying
// again) or 'in'.
let phase = 'starting';
let retryTimer = null;
let retryDelay = 2000; // ms before asking whoami again after a failure; doubles up to 30 s
let lastAuthRequired = null; // auth_required of the last identity: whether going on without a key is possible

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/inbox';
  const [path, qs = ''] = raw.split('?');
  return { path, query: new URLSearchParams(qs) };
}

function unmount() {
  if (cleanup) {
    try { cleanup(); } catch (err) { console.warn('page cleanup failed', err); }
    cleanup = null;
  }
}

function route() {
  if (phase !== 'in') return;
  const { path, query } = parseHash();
  if (!path.startsWith('/')) return; // an in-page anchor, not a route
  let match = null;
  let params = {};
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) {
      match = r;
      (r.keys || []).forEach((key, i) => { params[key] = m[i + 1]; });
      break;
    }
  }
  if (!match) {
    location.replace('#/inbox');
    return;
  }
  unmount();
  clearErrors();
  for (const link of document.querySelectorAll('.nav a')) {
    if (link.dataset.route === match.name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const view = document.getElementById('view');
  replaceChildren(view);
  document.title = `${match.title} · UrgencyIQ`;
  try {
    const result = match.page.mount(view, params, query);
    if (typeof result === 'function') cleanup = result;
  } catch (err) {
    showError(err, 'This page failed to load');
  }
  if (!firstRoute) {
    // Move focus to the new page's heading so keyboard and screen-reader users land on it.
    const heading = view.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
  firstRoute = false;
}

function setupLiveIndicator() {
  const indicator = document.getElementById('live-indicator');
  const text = document.getElementById('live-text');
  onStatus((s) => {
    indicator.dataset.status = s.status;
    text.textContent = STATUS_TEXT[s.status] || s.status;
    indicator.title = s.detail ? `Live updates: ${s.detail}` : `Live updates: ${STATUS_TEXT[s.status] || s.status}`;
    indicator.setAttribute('aria-label', `Live updates: ${STATUS_TEXT[s.status] || s.status}. Connection details in Settings`);
  });
}

// ---- Signing in and out -----------------------------------------------------------------------------------

function setPhase(next) {
  phase = next;
  document.body.dataset.auth = next;
}

function renderWho(who) {
  const box = document.getElementById('who');
  if (!who) { box.hidden = true; replaceChildren(box); return; }
  const hasKey = who.credential === 'key' || who.credential === 'admin-token';
  replaceChildren(box,
    who.unknown ? null : h('span', { class: 'who-text', id: 'who-text', title: `Signed in as ${describe(who)}` },
      h('span', { class: 'who-name', id: 'who-name' }, who.name || 'unknown'), ' ',
      h('span', { class: `who-role role-${who.role}`, id: 'who-role' }, `(${who.role})`)),
    hasKey ? h('button', { type: 'button', class: 'button secondary small', id: 'sign-out', onClick: signOut }, 'Sign out') : null);
  box.hidden = !box.firstChild;
  box.classList.toggle('has-key', hasKey);
  // Read keys do not score messages, so the playground has nothing for them.
  const playground = document.querySelector('.nav a[data-route="playground"]');
  if (playground) playground.closest('li').hidden = !can('agent', who);
}

/** Shows the console as `who` (re-mounting the current page, whose controls depend on the role). */
function enter(who) {
  const promptBox = document.getElementById('signin');
  promptBox.hidden = true;
  replaceChildren(promptBox);
  lastAuthRequired = who.auth_required;
  setIdentity(who);
  renderWho(who);
  setPhase('in');
  closeEvents('switching keys'); // a stream opened with another key (or none) must not stay
  connect({ fresh: true });
  route();
}

/** Shows the key prompt and nothing else; `message` is the server's reason, if any. */
function ask(message) {
  const wasIn = phase === 'in';
  setPhase('prompt');
  firstRoute = false; // once in, focus goes to the page's heading
  unmount();
  closeEvents('signed out');
  setIdentity(null);
  renderWho(null);
  clearErrors();
  replaceChildren(document.getElementById('view'));
  document.title = 'Sign in · UrgencyIQ';
  renderPrompt(document.getElementById('signin'), {
    message,
    onSignedIn: (key, who) => { setToken(key); enter(who); },
    withoutKey: lastAuthRequired === false ? () => { setToken(''); begin(); } : null,
  });
  if (wasIn) window.scrollTo(0, 0);
}

/** Asks the server who the stored key (or no key) is, then shows the console or the prompt. */
async function begin() {
  clearTimeout(retryTimer);
  setPhase('starting');
  const hadKey = Boolean(getToken());
  try {
    const who = await whoami();
    retryDelay = 2000;
    enter(who);
  } catch (err) {
    if (err && err.status === 401) {
      if (hadKey) setToken(''); // unknown, revoked or expired: it will not work again
      ask(hadKey ? err.message : '');
      return;
    }
    if (err && err.isMissing) {
      // An older server without /api/whoami: show everything, as before, and let the server say no.
      enter({ name: '', role: 'admin', credential: hadKey ? 'key' : 'none', auth_required: false, unknown: true });
      return;
    }
    unreachable(err);
  }
}

/** whoami failed (the server is down, busy or cannot check keys now): say so and try again, keeping the key;
 *  nothing is shown as if some role were known. */
function unreachable(err) {
  setPhase('unreachable');
  unmount();
  closeEvents('the server cannot be reached');
  setIdentity(null);
  renderWho(null);
  const seconds = Math.round(retryDelay / 1000);
  replaceChildren(document.getElementById('view'),
    h('section', { class: 'card', 'aria-labelledby': 'unreachable-h' },
      h('h1', { id: 'unreachable-h', tabindex: '-1' }, 'The server cannot say who you are'),
      h('p', null, `${err && err.message ? err.message : String(err)} Trying again in ${seconds} s.`),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'button', id: 'retry-whoami', onClick: () => begin() }, 'Try again now'))));
  retryTimer = setTimeout(() => begin(), retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30000);
}

function signOut() {
  setToken('');
  unmount();
  closeEvents('signed out');
  showStatus('Signed out: the key is forgotten.');
  return begin();
}

/** An API call (or the event stream) answered 401: the key it sent (`sent`, '' for none) stopped working, or
 *  none was sent. An answer to a request made with a key the user has since replaced changes nothing. */
function unauthorized(message, sent) {
  if (phase === 'prompt' || phase === 'unreachable') return;
  if (sent !== undefined && sent !== getToken()) return;
  setToken('');
  ask(message);
}

function start() {
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    const heading = document.querySelector('#signin:not([hidden]) h1') || document.querySelector('#view h1');
    const target = heading || document.getElementById('view');
    target.setAttribute('tabindex', '-1');
    target.focus();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (event) => {
    showError(event.reason || 'unexpected error');
    event.preventDefault();
  });
  registerSession({ signIn: (key, who) => { setToken(key); enter(who); }, signOut });
  onUnauthorized(unauthorized);
  onStreamUnauthorized(unauthorized);
  setupLiveIndicator();
  setInterval(() => refreshAges(), 30000);
  begin();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
