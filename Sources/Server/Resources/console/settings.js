// Settings: the admin token (this tab only), the LLM toggle and status, health, the live connection.
import { api, getToken, setToken } from './api.js';
import { h, replaceChildren, field, dl, formatDateTime } from './dom.js';
import { showError, showStatus, clearErrors } from './alerts.js';
import { onStatus, STATUS_TEXT } from './events.js';

function yesNo(v) {
  return v ? 'yes' : 'no';
}

export function mount(view) {
  let disposed = false;

  // ---- Admin token --------------------------------------------------------
  const tokenInput = h('input', { type: 'password', name: 'admin_token', autocomplete: 'off', spellcheck: 'false' });
  const tokenState = h('p', { class: 'token-state', id: 'token-state' });
  const forgetButton = h('button', { type: 'button', class: 'button secondary', onClick: () => {
    setToken('');
    tokenInput.value = '';
    renderToken();
    showStatus('The admin token is forgotten.');
  } }, 'Forget the token');
  const tokenForm = h('form', { class: 'inline-form', 'aria-label': 'Admin token' },
    field('Admin token', tokenInput, 'Kept in this browser tab only (sessionStorage), sent as Authorization: Bearer to the API.').wrap,
    h('button', { type: 'submit', class: 'button' }, 'Save'), forgetButton);
  tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = tokenInput.value.trim();
    if (!value) { showError('Enter a token, or use “Forget the token”.'); return; }
    setToken(value);
    tokenInput.value = '';
    renderToken();
    clearErrors();
    showStatus('The admin token is saved for this tab.');
  });
  function renderToken() {
    const has = Boolean(getToken());
    tokenState.textContent = has
      ? 'A token is stored for this tab.'
      : 'No token stored. Without one, admin actions work only from the server’s own machine (loopback).';
    forgetButton.disabled = !has;
  }

  // ---- LLM ----------------------------------------------------------------
  const llmToggle = h('input', { type: 'checkbox', name: 'use_llm', role: 'switch', disabled: true });
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
      llmToggle.checked = !want;
      showError(err, 'Changing the LLM setting');
    } finally {
      llmToggle.disabled = false;
      loadLlm();
    }
  });

  async function loadLlm() {
    try {
      const [{ data: toggle }, { data: s }] = await Promise.all([api('/api/get/llm'), api('/api/llm/status')]);
      if (disposed) return;
      llmToggle.checked = Boolean(toggle.use_llm);
      llmToggle.disabled = false;
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
    h('section', { class: 'card', 'aria-labelledby': 'tok-h' }, h('h2', { id: 'tok-h' }, 'Admin access'), tokenState, tokenForm),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'llm-h' }, h('h2', { id: 'llm-h' }, 'LLM step'),
        h('div', { class: 'switch-row' }, llmToggle, llmToggleLabel), llmStatus),
      h('div', null,
        h('section', { class: 'card', 'aria-labelledby': 'health-h' }, h('h2', { id: 'health-h' }, 'Server health'), health, refreshHealth),
        h('section', { class: 'card', 'aria-labelledby': 'live-h' }, h('h2', { id: 'live-h' }, 'Live connection'), live))));

  renderToken();
  loadLlm();
  loadHealth();
  return () => { disposed = true; offStatus(); };
}
