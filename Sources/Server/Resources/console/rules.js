// Rules: the active version, its files, the reload history, the fleet and the gate.
import { api } from './api.js';
import { h, replaceChildren, ageElement, formatDateTime, dl, errorText, plural } from './dom.js';
import { showError, showStatus } from './alerts.js';
import { on } from './events.js';
import { genericValue } from './breakdown.js';
import { can, needsRole } from './auth.js';

export function lineCount(source) {
  const lines = String(source ?? '').split('\n');
  return lines.length > 1 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
}

/** A read-only source view with line numbers (a gutter beside the code). */
export function codeView(path, source) {
  const text = String(source ?? '');
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const gutter = lines.map((_, i) => String(i + 1)).join('\n');
  return h('div', { class: 'code-view', tabindex: '0', role: 'region', 'aria-label': `${path}, ${plural(lines.length, 'line')}` },
    h('pre', { class: 'gutter', 'aria-hidden': 'true' }, gutter),
    h('pre', { class: 'code' }, h('code', null, lines.join('\n'))));
}

/** A gate run ({directory, passed, failed, failures: ["file:line: expected …"]}) in words. */
export function gateResult(gate) {
  if (!gate || typeof gate !== 'object') return genericValue(gate);
  const known = new Set(['directory', 'passed', 'failed', 'failures']);
  const failures = Array.isArray(gate.failures) ? gate.failures : [];
  return h('div', { class: 'gate-result' },
    h('p', null, 'Gate ', gate.directory ? h('code', null, String(gate.directory)) : null, ': ',
      h('strong', { class: 'passed' }, `${gate.passed ?? '?'} passed`), ', ',
      h('strong', { class: gate.failed ? 'failed' : '' }, `${gate.failed ?? '?'} failed`)),
    failures.length ? h('ul', { class: 'plain gate-failures' }, failures.map((f) => h('li', null, typeof f === 'string' ? errorText(f) : genericValue(f)))) : null,
    Object.keys(gate).some((k) => !known.has(k))
      ? genericValue(Object.fromEntries(Object.entries(gate).filter(([k]) => !known.has(k)))) : null);
}

/** One reload attempt as a list item. */
export function attemptItem(a) {
  const outcome = String(a.outcome || 'unknown');
  return h('li', { class: `attempt outcome-${outcome}` },
    h('div', { class: 'attempt-head' },
      h('span', { class: `pill outcome-${outcome}` }, outcome),
      a.version ? h('code', null, String(a.version)) : null,
      h('span', null, `by ${a.trigger || 'unknown trigger'}${a.by ? ` (${a.by})` : ''}`),
      a.at ? ageElement(a.at) : null,
      a.duration_ms !== undefined && a.duration_ms !== null ? h('span', { class: 'muted' }, `${a.duration_ms} ms`) : null,
      a.repeated ? h('span', { class: 'muted' }, 'repeated: same files as the last attempt') : null),
    a.error ? h('p', { class: 'attempt-error' }, errorText(a.error)) : null,
    a.gate && typeof a.gate === 'object' ? gateResult(a.gate) : null);
}

export function mount(view) {
  let disposed = false;
  const admin = can('admin'); // the files, reloads and deploys are the admin role's
  const summary = h('section', { class: 'card', 'aria-labelledby': 'active-h' }, h('h2', { id: 'active-h' }, 'Active version'), h('p', { class: 'loading' }, 'Loading…'));
  const reloadResult = h('div', { class: 'reload-result', 'aria-live': 'polite' });
  const reloadButton = h('button', { type: 'button', class: 'button', onClick: reload }, 'Reload rules');
  const history = h('section', { class: 'card', 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h' }, 'Reload history'));
  const fleet = h('section', { class: 'card', 'aria-labelledby': 'fleet-h' }, h('h2', { id: 'fleet-h' }, 'Fleet'));
  const gate = h('section', { class: 'card', 'aria-labelledby': 'gate-h' }, h('h2', { id: 'gate-h' }, 'Gate'));
  const versions = h('section', { class: 'card', 'aria-labelledby': 'ver-h' }, h('h2', { id: 'ver-h' }, 'Versions'));
  const files = h('section', { class: 'card', 'aria-labelledby': 'files-h' }, h('h2', { id: 'files-h' }, 'Files'), h('p', { class: 'loading' }, 'Loading…'));

  replaceChildren(view,
    h('div', { class: 'page-head' }, h('h1', null, 'Rules'),
      admin
        ? h('div', { class: 'head-actions' }, reloadButton, h('a', { class: 'button secondary', href: '#/playground' }, 'Edit in the playground'))
        : h('p', { class: 'readonly-note', id: 'rules-role-note' }, needsRole('Reloading, checking and deploying rules', 'admin'))),
    reloadResult,
    h('div', { class: 'grid-2' }, summary, history),
    h('div', { class: 'grid-2' }, fleet, h('div', null, gate, versions)),
    files);

  async function load() {
    try {
      const { data } = await api('/api/rules');
      if (disposed) return;
      render(data);
    } catch (err) {
      if (!disposed) showError(err, 'Loading the rules');
    }
  }

  function render(r) {
    const a = r.active || {};
    replaceChildren(summary, h('h2', { id: 'active-h' }, 'Active version'),
      h('p', { class: 'version-line' }, h('code', { class: 'version', id: 'active-version' }, String(a.version || '?'))),
      dl([
        ['Activated', a.activated_at ? [formatDateTime(a.activated_at), ' (', ageElement(a.activated_at), ')'] : '—'],
        a.directory ? ['Directory', h('code', null, String(a.directory))] : null,
        a.fallback !== undefined ? ['Fallback score', String(a.fallback)] : null,
        ['Files', Array.isArray(a.files) ? h('ul', { class: 'plain' }, a.files.map((f) => h('li', null, h('code', null, String(f.path)), ` — ${f.bytes} bytes`))) : '—'],
        r.reloads ? ['Reloads', `${r.reloads.activated ?? 0} activated, ${r.reloads.unchanged ?? 0} unchanged, ${r.reloads.rejected ?? 0} rejected`] : null,
        r.watching ? ['Watching', r.watching.inotify ? `file events${r.watching.poll_seconds ? `, and polling every ${r.watching.poll_seconds} s` : ''}` : (r.watching.poll_seconds ? `polling every ${r.watching.poll_seconds} s` : 'no (reload on demand)')] : null,
        r.instance ? ['This instance', h('code', null, String(r.instance))] : null,
      ]));

    let attempts = Array.isArray(r.attempts) ? r.attempts : null;
    const note = attempts ? null : h('p', { class: 'muted' }, 'This server does not report its reload history; showing the last attempt only.');
    if (!attempts) attempts = r.last_reload ? [r.last_reload] : [];
    replaceChildren(history, h('h2', { id: 'hist-h' }, 'Reload history'), note,
      attempts.length ? h('ol', { class: 'attempts' }, attempts.map(attemptItem)) : h('p', { class: 'muted' }, 'No reload attempts since the server started.'));

    const fl = Array.isArray(r.fleet) ? r.fleet : [];
    replaceChildren(fleet, h('h2', { id: 'fleet-h' }, `Fleet (${fl.length})`),
      fl.length
        ? h('div', { class: 'table-wrap' }, h('table', null,
          h('thead', null, h('tr', null, ['Instance', 'Rules version', 'Last seen', 'State'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, fl.map((i) => h('tr', { class: i.rules_version && a.version && i.rules_version !== a.version ? 'differs' : '' },
            h('td', null, i.id || i.host ? h('code', null, String(i.id || `${i.host}:${i.pid}`)) : h('span', { class: 'muted' }, i.this ? 'this server' : 'another server'),
              i.this && (i.id || i.host) ? h('span', { class: 'pill' }, 'this') : null),
            h('td', null, h('code', null, String(i.rules_version || '?')), i.rules_version && a.version && i.rules_version !== a.version ? h('span', { class: 'pill warn' }, 'differs') : null),
            h('td', null, i.last_seen ? ageElement(i.last_seen) : '—'),
            h('td', null, i.stale ? h('span', { class: 'pill warn' }, 'stale') : 'up'))))))
        : h('p', { class: 'muted' }, 'No fleet information (admins only).'));

    replaceChildren(gate, h('h2', { id: 'gate-h' }, 'Gate'),
      r.gate
        ? (typeof r.gate === 'string'
          ? h('p', null, 'Every rule change must pass the fixtures in ', h('code', null, r.gate), ' before it goes live.')
          : genericValue(r.gate))
        : h('p', { class: 'muted' }, 'No gate: a rule change goes live once it loads and scores a probe message.'));

    const vs = Array.isArray(r.versions) ? r.versions : [];
    replaceChildren(versions, h('h2', { id: 'ver-h' }, 'Versions'),
      vs.length ? h('div', { class: 'table-wrap' }, h('table', null,
        h('thead', null, h('tr', null, ['Version', 'Activated', 'Scored', 'Errors'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, vs.map((v) => h('tr', null,
          h('td', null, h('code', null, String(v.version)), v.deactivated_at ? null : h('span', { class: 'pill ok' }, 'active')),
          h('td', null, v.activated_at ? ageElement(v.activated_at) : '—'),
          h('td', { class: 'num' }, String(v.evaluations ?? '—')),
          h('td', { class: `num${v.errors ? ' bad' : ''}` }, String(v.errors ?? '—')))))))
        : h('p', { class: 'muted' }, 'No versions.'));
  }

  async function loadFiles() {
    if (!admin) {
      replaceChildren(files, h('h2', { id: 'files-h' }, 'Files'), h('p', { class: 'muted' }, needsRole('Reading the rule files', 'admin')));
      return;
    }
    try {
      const { data } = await api('/api/rules/files');
      if (disposed) return;
      const entries = Object.entries((data && data.files) || {});
      replaceChildren(files, h('h2', { id: 'files-h' }, `Files of ${data.version || 'the active version'}`),
        entries.length ? entries.map(([path, source], i) => h('details', { class: 'file', open: i === 0 },
          h('summary', null, h('code', null, path), ` — ${plural(lineCount(source), 'line')}`),
          codeView(path, source)))
          : h('p', { class: 'muted' }, 'No files.'));
    } catch (err) {
      if (disposed) return;
      let text = 'The rule files could not be loaded.';
      if (err.isMissing) text = 'This server cannot show the rule files (GET /api/rules/files is not available).';
      else if (err.isAuth) text = `Showing the rule files needs the admin role: ${err.message}`;
      replaceChildren(files, h('h2', { id: 'files-h' }, 'Files'), h('p', { class: 'muted' }, text));
      if (!err.isMissing) showError(err, 'Loading the rule files');
    }
  }

  async function reload() {
    reloadButton.disabled = true;
    reloadButton.textContent = 'Reloading…';
    replaceChildren(reloadResult);
    try {
      const { data } = await api('/api/rules/reload', { method: 'POST' });
      if (disposed) return;
      replaceChildren(reloadResult, h('div', { class: 'result ok' }, h('h2', null, 'Reload'), h('ol', { class: 'attempts' }, attemptItem(data))));
      showStatus(`Reload: ${data.outcome}${data.version ? ` (${data.version})` : ''}.`);
    } catch (err) {
      if (disposed) return;
      if (err.status === 422 && err.data && typeof err.data === 'object') {
        replaceChildren(reloadResult, h('div', { class: 'result bad' }, h('h2', null, 'Reload rejected; the previous version keeps serving'),
          h('ol', { class: 'attempts' }, attemptItem({ outcome: 'rejected', ...err.data }))));
      }
      showError(err, 'Reload');
    } finally {
      reloadButton.disabled = false;
      reloadButton.textContent = 'Reload rules';
      if (!disposed) { load(); loadFiles(); }
    }
  }

  const off = on('rules.activated', () => { load(); loadFiles(); });
  const offResync = on('resync', () => load());
  load();
  loadFiles();
  return () => { disposed = true; off(); offResync(); };
}

