// The console's entry point: hash routing, the navigation and the live indicator.
import { replaceChildren, refreshAges } from './dom.js';
import { clearErrors, showError } from './alerts.js';
import { connect, onStatus, STATUS_TEXT } from './events.js';
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

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/inbox';
  const [path, qs = ''] = raw.split('?');
  return { path, query: new URLSearchParams(qs) };
}

function route() {
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
  if (cleanup) {
    try { cleanup(); } catch (err) { console.warn('page cleanup failed', err); }
    cleanup = null;
  }
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

function start() {
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    const heading = document.querySelector('#view h1');
    const target = heading || document.getElementById('view');
    target.setAttribute('tabindex', '-1');
    target.focus();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (event) => {
    showError(event.reason || 'unexpected error');
    event.preventDefault();
  });
  setupLiveIndicator();
  connect();
  setInterval(() => refreshAges(), 30000);
  route();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

