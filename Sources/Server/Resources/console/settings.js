// Settings: the API key (this tab only) and who it signs in as, the LLM toggle and status, health, the live
// connection.
import { api, getToken } from './api.js';
import { h, replaceChildren, field, dl, formatDateTime } from './dom.js';
import { showError, showStatus } from './alerts.js';
import { onStatus, STATUS_TEXT } from './events.js';
import { identity, whoami, signIn, signOut, can, describe, needsRole } from './auth.js';

function yesNo(v) {
  return v ? 'yes' : 'no';
}

export function mount(view) {
  let disposed = false;
  const who = identity();
  const admin = can('admin');

  // ---- API key ------------------------------------------------------------
  const tokenInput = h('input', { type: 'password', name: 'api_key', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
  const tokenState = h('p', { class: 'token-state', id: 'token-state' });
  const tokenError = h('p', { class: 'field-error', id: 'token-error', role: 'alert', hidden: true });
  const useButton = h('button', { type: 'submit', class: 'button' }, 'Use this key');
  const forgetButton = h('button', { type: 'button', class: 'button secondary', onClick: () => signOut() }, 'Sign out');
  const tokenForm = h('form', { class: 'inline-form', 'aria-label': 'API key' },
    field('API key', tokenInput, 'An API key (uiq_…) or the server’s ADMIN_TOKEN. Kept in this browser tab only (sessionStorage), sent as Authorization: Bearer to the API.').wrap,
    useButton, forgetButton);
  tokenForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = tokenInput.value.trim();
    tokenError.hidden = true;
    tokenInput.removeAttribute('aria-invalid');
    if (!value) { failKey('Enter a key, or use “Sign out” to forget the one in use.'); return; }
    useButton.disabled = true;
    try {
      const next = await whoami(value); // checked before it replaces the key in use
      if (disposed) return;
      tokenInput.value = '';
      showStatus(`Signed in as ${describe(next)}.`);
      signIn(value, next);
    } catch (err) {
      if (!disposed) failKey(err && err.message ? err.message : String(err));
    } finally {
      useButton.disabled = false;
    }
  });
  function failKey(text) {
    tokenError.textContent = text;
    tokenError.hidden = false;
    tokenInput.setAttribute('aria-invalid', 'true');
    tokenInput.setAttribute('aria-describedby', `${tokenInput.id}-hint token-error`);
    tokenInput.focus();
  }
  function renderToken() {
    const has = Boolean(getToken());
    let text;
    if (!who) text = 'Not signed in.';
    else if (who.unknown) text = has ? 'A key is stored for this tab; this server does not say whose it is.' : 'No key stored.';
    else if (who.credential === 'key') text = `Signed in as ${describe(who)} with an API key kept in this tab.`;
    else if (who.credential === 'admin-token') text = `Signed in with the server’s admin token: ${describe(who)}.`;
    else text = `No key: the server lets this browser in as ${describe(who)}.${who.auth_required ? '' : ' A key signs you in as its holder.'}`;
    tokenState.textContent = text;
    forgetButton.disabled = !has;
  }

  // ---- LLM ----------------------------------------------------------------
  const llmToggle = h('input', { type: 'checkbox', name: 'use_llm', role: 'switch', disabled: true });
  const llmState = h('p', { class: 'readonly-note', id: 'llm-state' }); // for roles that may not change it
  const llmToggleLabel = h('label', { class: 'switch', for: 'llm-toggle' }, 'Use the LLM step when scoring');
  llmToggle.id = 'llm-toggle';
  const llmStatus = h('div', { class: 'llm-status' }, h('p', { class: 'loading' }, 'Loading…'));
  llmToggle.addEventListener('change', async () => {
    const want = llmToggle.checked;
    llmToggle.disabled = true;
    try {
      await api('/api/set/llm', { method: 'POST', body: { use_llm: want } });
      showStatus(want ? 'The LLM step is on.' : 'The LLM step is off.');
    } catch (err) {
      if (disposed) return;
      llmToggle.checked = !want;
      showError(err, 'Changing the LLM setting');
    } finally {
      if (!disposed) {
        llmToggle.disabled = false;
        loadLlm();
      }
    }
  });

  async function loadLlm() {
    try {
      const [{ data: toggle }, { data: s }] = await Promise.all([api('/api/get/llm'), api('/api/llm/status')]);
      if (disposed) return;
      llmToggle.checked = Boolean(toggle.use_llm);
      llmToggle.disabled = false;
      llmState.textContent = `The LLM step is ${toggle.use_llm ? 'on' : 'off'}. ${needsRole('Changing it', 'admin')}`;
      const circuit = s.circuit || {};
      const latency = s.latency_ms || {};
      const failures = s.failures && typeof s.failures === 'object' ? Object.entries(s.failures) : [];
      replaceChildren(llmStatus, dl([
        ['Enabled', yesNo(s.enabled)],
        s.mode ? ['Mode', s.mode === 'background' ? 'background: tickets are answered at once and refined when the model answers' : 'inline: each ticket waits for the model'] : null,
        ['Key configured', yesNo(s.key_configured)],
        s.model ? ['Model', [h('code', null, String(s.model)), s.model_source ? h('span', { class: 'muted' }, ` (${s.model_source})`) : null]] : null,
        s.base_url ? ['Endpoint', h('code', null, String(s.base_url))] : null,
        ['Circuit', [h('span', { class: `pill circuit-${circuit.state}` }, String(circuit.state || '?')),
          circuit.consecutive_failures ? ` ${circuit.consecutive_failures} failures in a row` : '',
          circuit.opened_at ? ` · opened ${formatDateTime(circuit.opened_at)}` : '',
          circuit.times_opened ? ` · opened ${circuit.times_opened} times in all` : '']],
        ['Latency', latency.samples ? `p50 ${latency.p50} ms, p99 ${latency.p99} ms (${latency.samples} samples)` : 'no calls yet'],
        ['Calls', `${s.calls ?? 0} calls, ${s.requests ?? 0} requests, ${s.replies ?? 0} replies, ${s.cache_hits ?? 0} cache hits, ${s.in_flight ?? 0} in flight`],
        ['Failures', failures.length ? failures.map(([k, v]) => `${k}: ${v}`).join(', ') : 'none'],
        s.queue ? ['Queue', `${s.queue.depth ?? '?'} waiting` + (s.queue.oldest_pending_age_s != null ? `, the oldest for ${s.queue.oldest_pending_age_s} s` : '')
          + `, ${s.queue.refined_last_minute ?? 0} refined in the last minute`
          + (s.queue.skipped_total && s.queue.skipped_total.backlog ? `, ${s.queue.skipped_total.backlog} kept their keyword score (backlog)` : '')] : null,
        s.tokens ? ['Tokens today', `${s.tokens.total ?? 0} (${s.tokens.input ?? 0} in, ${s.tokens.output ?? 0} out)`
          + (s.tokens.daily_budget != null ? ` of a budget of ${s.tokens.daily_budget}` : '')] : null,
        s.timeout_ms !== undefined ? ['Limits', `timeout ${s.timeout_ms} ms, ${s.max_retries} retries, ${s.max_concurrency} at once`] : null,
      ]));
    } catch (err) {
      if (disposed) return;
      replaceChildren(llmStatus, h('p', null, 'The LLM status could not be loaded.'));
      showError(err, 'Loading the LLM status');
    }
  }

  // ---- Health and the live connection -------------------------------------
  const health = h('div', null, h('p', { class: 'loading' }, 'Checking…'));
  async function loadHealth() {
    const started = performance.now();
    try {
      const { data } = await api('/api/health');
      if (disposed) return;
      const ms = Math.round(performance.now() - started);
      replaceChildren(health, h('p', null, h('span', { class: `pill ${data.status === 'ok' ? 'ok' : 'warn'}`, id: 'health-status' }, String(data.status)), ` answered in ${ms} ms`));
    } catch (err) {
      if (disposed) return;
      replaceChildren(health, h('p', null, h('span', { class: 'pill bad', id: 'health-status' }, 'down'), ' ', err.message));
    }
  }
  const refreshHealth = h('button', { type: 'button', class: 'button secondary', onClick: () => { loadHealth(); loadLlm(); } }, 'Refresh');

  const live = h('div', { id: 'live-status' });
  const offStatus = onStatus((s) => {
    replaceChildren(live, dl([
      ['Status', [h('span', { class: `pill live-${s.status}` }, STATUS_TEXT[s.status] || s.status), s.detail ? ` ${s.detail}` : '']],
      ['Connected since', s.connectedAt ? s.connectedAt.toLocaleTimeString() : '—'],
      ['Events received', String(s.received)],
      ['Last event', s.lastEventAt ? `${s.lastEventAt.toLocaleTimeString()} (id ${s.lastEventId ?? '?'})` : '—'],
    ]));
  });

  replaceChildren(view,
    h('div', { class: 'page-head' }, h('h1', null, 'Settings')),
    h('section', { class: 'card', 'aria-labelledby': 'tok-h' }, h('h2', { id: 'tok-h' }, 'API key'), tokenState, tokenForm, tokenError),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'llm-h' }, h('h2', { id: 'llm-h' }, 'LLM step'),
        admin ? h('div', { class: 'switch-row' }, llmToggle, llmToggleLabel) : llmState, llmStatus),
      h('div', null,
        h('section', { class: 'card', 'aria-labelledby': 'health-h' }, h('h2', { id: 'health-h' }, 'Server health'), health, refreshHealth),
        h('section', { class: 'card', 'aria-labelledby': 'live-h' }, h('h2', { id: 'live-h' }, 'Live connection'), live))));

  renderToken();
  loadLlm();
  loadHealth();
  return () => { disposed = true; offStatus(); };
}
