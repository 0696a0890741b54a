// The page-wide error area (role="alert") and a polite status line for successes.
import { h, clear } from './dom.js';

function region() {
  return document.getElementById('alerts');
}

/** Shows an error (an ApiError, an Error or a string) as text. Returns the element. */
export function showError(err, context) {
  if (err && err.name === 'AbortError') return null;
  const area = region();
  const message = err && err.message ? err.message : String(err);
  const text = context ? `${context}: ${message}` : message;
  // Do not stack the same message twice.
  for (const existing of area.querySelectorAll('.alert')) {
    if (existing.dataset.text === text) return existing;
  }
  // 403: the key's role does not allow it (the server says which role it needs); another key may.
  const forbidden = err && err.status === 403;
  const item = h('div', { class: 'alert', dataset: { text } },
    h('p', null, text),
    forbidden ? h('p', null, h('a', { href: '#/settings' }, 'Use another API key in Settings')) : null,
    h('button', { type: 'button', class: 'link-button', 'aria-label': 'Dismiss this error', onClick: () => item.remove() }, 'Dismiss'));
  area.appendChild(item);
  return item;
}

export function clearErrors() {
  clear(region());
}

let statusTimer = null;
/** A short-lived success message, announced politely. */
export function showStatus(text) {
  const el = document.getElementById('status-line');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { el.hidden = true; el.textContent = ''; }, 6000);
}
