// The key prompt: shown instead of everything else while the server answers 401.
import { h, replaceChildren } from './dom.js';
import { whoami } from './auth.js';

/**
 * Renders the prompt into `box`. `message` is the server's reason (a rejected, revoked or expired key) or
 * empty; onSignedIn(key, who) runs once a key works. `withoutKey` (a function) offers to go on without one,
 * for servers that do not insist on keys.
 */
export function renderPrompt(box, { message = '', onSignedIn, withoutKey = null }) {
  const input = h('input', {
    type: 'password', id: 'signin-key', name: 'api_key', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', required: true, 'aria-describedby': 'signin-hint signin-error',
  });
  const error = h('p', { class: 'field-error', id: 'signin-error', role: 'alert' }, message);
  error.hidden = !message;
  const submit = h('button', { type: 'submit', class: 'button' }, 'Sign in');
  const form = h('form', { class: 'signin-form', 'aria-labelledby': 'signin-h', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'signin-key' }, 'API key'),
      input,
      h('span', { class: 'hint', id: 'signin-hint' },
        'An API key (uiq_…) or the server’s admin token. It is kept in this browser tab only (sessionStorage) and sent in the Authorization header.')),
    error,
    h('div', { class: 'form-actions' }, submit,
      withoutKey ? h('button', { type: 'button', class: 'button secondary', onClick: withoutKey }, 'Continue without a key') : null));

  function fail(text) {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    input.select();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) { fail('Enter an API key.'); return; }
    submit.disabled = true;
    submit.textContent = 'Checking…';
    try {
      const who = await whoami(key);
      input.value = '';
      onSignedIn(key, who);
    } catch (err) {
      fail(err && err.message ? err.message : String(err));
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  replaceChildren(box,
    h('section', { class: 'card signin', 'aria-labelledby': 'signin-h' },
      h('h1', { id: 'signin-h', tabindex: '-1' }, 'Sign in'),
      h('p', null, withoutKey
        ? 'Enter another API key, or go on without one.'
        : 'This server needs an API key to show its tickets. Ask an administrator for one (urgencyiq keys create).'),
      form));
  box.hidden = false;
  if (message) input.setAttribute('aria-invalid', 'true');
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
  input.focus();
}
