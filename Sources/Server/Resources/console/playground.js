// Playground: score a message as you type; edit a candidate copy of the rules, check it, deploy it.
import { api } from './api.js';
import { h, replaceChildren, debounce, field, urgencyBadge, urgencyLevel, formatUrgency, errorText, parseFileLine, plural, uid } from './dom.js';
import { showError, showStatus, clearErrors } from './alerts.js';
import { on } from './events.js';
import { renderBreakdown, breakdownSummary } from './breakdown.js';
import { gateResult } from './rules.js';
import { can, needsRole } from './auth.js';

const CHANGES_SHOWN = 50;

function fixed(n, digits = 3) {
  const x = Number(n);
  return Number.isFinite(x) ? x.toFixed(digits) : '—';
}

function retryText(err) {
  return err.retryAfter !== null ? ` Try again in ${plural(err.retryAfter, 'second')}.` : ' Try again shortly.';
}

export function mount(view) {
  let disposed = false;
  if (!can('agent')) {
    // Scoring is the agent role's (POST /api/score), editing rules the admin's: nothing here for a read key.
    replaceChildren(view,
      h('div', { class: 'page-head' }, h('h1', null, 'Playground')),
      h('section', { class: 'card', 'aria-labelledby': 'try-h' }, h('h2', { id: 'try-h' }, 'Not available'),
        h('p', { class: 'readonly-note', id: 'playground-role-note' }, needsRole('Scoring messages and editing rules', 'agent')),
        h('p', null, h('a', { href: '#/rules' }, 'The active rules'), ' can be read on the Rules page.')));
    return () => { disposed = true; };
  }
  const admin = can('admin'); // the candidate editor (files, check, deploy)

  // ---- Scoring as you type -------------------------------------------------
  const messageInput = h('textarea', { name: 'message', rows: '3', placeholder: 'e.g. My account is blocked and I need to pay school fees today' });
  const userInput = h('input', { type: 'text', name: 'user_id', inputmode: 'numeric', autocomplete: 'off', placeholder: 'optional' });
  const scoreResult = h('div', { class: 'score-result', id: 'score-result', 'aria-live': 'polite' },
    h('p', { class: 'muted' }, 'Type a message to see its score.'));
  let scoreController = null;
  let scoreSeq = 0;

  async function score() {
    const text = messageInput.value;
    const userId = userInput.value.trim();
    if (scoreController) scoreController.abort();
    if (!text.trim()) {
      replaceChildren(scoreResult, h('p', { class: 'muted' }, 'Type a message to see its score.'));
      return;
    }
    if (userId && !/^[1-9][0-9]*$/.test(userId)) {
      replaceChildren(scoreResult, h('p', { class: 'field-error' }, 'The customer id must be a positive whole number.'));
      return;
    }
    scoreSeq += 1;
    const seq = scoreSeq;
    scoreController = new AbortController();
    scoreResult.classList.add('pending');
    const body = { message: text };
    if (userId) body.user_id = Number(userId);
    try {
      const { data } = await api('/api/score', { method: 'POST', body, signal: scoreController.signal });
      if (disposed || seq !== scoreSeq) return;
      replaceChildren(scoreResult,
        h('div', { class: `score-head level-${urgencyLevel(data.urgency)}` },
          h('span', { class: 'score-label' }, 'Score'),
          h('span', { class: 'score-number', id: 'score-value' }, formatUrgency(data.urgency)),
          h('span', { class: 'muted' }, 'rules ', h('code', null, String(data.rules_version || '?')))),
        renderBreakdown(data.breakdown, { urgency: data.urgency, version: data.rules_version }));
    } catch (err) {
      if (err.name === 'AbortError' || disposed || seq !== scoreSeq) return;
      replaceChildren(scoreResult, h('p', { class: 'field-error' }, errorText(err.message)));
      if (err.status !== 400) showError(err, 'Scoring');
    } finally {
      if (seq === scoreSeq) scoreResult.classList.remove('pending');
    }
  }
  const debouncedScore = debounce(score, 250);
  messageInput.addEventListener('input', debouncedScore);
  userInput.addEventListener('input', debouncedScore);

  const scoreSection = h('section', { class: 'card', 'aria-labelledby': 'try-h' },
    h('h2', { id: 'try-h' }, 'Try a message'),
    h('div', { class: 'score-form' }, field('Message', messageInput).wrap, field('Customer id', userInput, 'Some rules look at the sender.').wrap),
    scoreResult);

  // ---- The candidate editor -----------------------------------------------
  let original = {}; // path -> source of the active version
  let activeVersion = null;
  const editors = new Map(); // path -> textarea
  const editorArea = h('div', { class: 'editors' }, h('p', { class: 'loading' }, 'Loading the active rule files…'));
  const editorInfo = h('p', { class: 'muted', id: 'editor-info' });
  const checkButton = h('button', { type: 'button', class: 'button', onClick: check, disabled: true }, 'Check');
  const deployButton = h('button', { type: 'button', class: 'button danger', onClick: askDeploy, disabled: true }, 'Deploy…');
  const resetButton = h('button', { type: 'button', class: 'button secondary', onClick: resetEditors, disabled: true }, 'Reset to active');
  const confirmBox = h('div', { class: 'confirm', hidden: true, role: 'group', 'aria-labelledby': 'confirm-text' },
    h('p', { id: 'confirm-text' }, 'Deploy these files? They replace the active rules on this server (the fleet follows).'),
    h('div', { class: 'button-row' },
      h('button', { type: 'button', class: 'button danger', id: 'confirm-deploy', onClick: deploy }, 'Deploy now'),
      h('button', { type: 'button', class: 'button secondary', onClick: () => { confirmBox.hidden = true; deployButton.focus(); } }, 'Cancel')));
  const result = h('div', { class: 'candidate-result', id: 'candidate-result', 'aria-live': 'polite' });
  const newFileInput = h('input', { type: 'text', name: 'new_file', autocomplete: 'off', spellcheck: 'false', placeholder: 'lib/helpers.lua' });
  const addFileForm = h('form', { class: 'inline-form add-file', 'aria-label': 'Add a file to the candidate', hidden: true },
    field('New file', newFileInput, 'The candidate is the whole rule set: files left out of it are not deployed.').wrap,
    h('button', { type: 'submit', class: 'button secondary' }, 'Add file'));
  addFileForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = newFileInput.value.trim();
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\.lua$/.test(name)) {
      showError('A rule file is named like lib/tiers.lua: letters, digits, _ and -, folders separated by /, ending in .lua.');
      newFileInput.focus();
      return;
    }
    if (editors.has(name)) { showError(`${name} is already in the candidate.`); return; }
    const files = candidate();
    files[name] = '-- ' + name + '\n';
    buildEditors(files);
    newFileInput.value = '';
    editors.get(name).focus();
  });

  const editorSection = h('section', { class: 'card', 'aria-labelledby': 'cand-h' },
    h('h2', { id: 'cand-h' }, 'Candidate rules'),
    editorInfo,
    editorArea,
    addFileForm,
    h('div', { class: 'button-row' }, checkButton, deployButton, resetButton),
    confirmBox,
    result);

  replaceChildren(view,
    h('div', { class: 'page-head' }, h('h1', null, 'Playground')),
    scoreSection,
    admin ? editorSection : h('section', { class: 'card', 'aria-labelledby': 'cand-h' },
      h('h2', { id: 'cand-h' }, 'Candidate rules'),
      h('p', { class: 'readonly-note', id: 'editor-role-note' }, needsRole('Checking and deploying rules', 'admin'))));

  function candidate() {
    const files = {};
    for (const [path, ta] of editors) files[path] = ta.value;
    return files;
  }

  function modifiedPaths() {
    const changed = [...editors].filter(([path, ta]) => ta.value !== original[path]).map(([path]) => path);
    const removed = Object.keys(original).filter((path) => !editors.has(path)).map((path) => `${path} (removed)`);
    return changed.concat(removed);
  }

  function updateInfo() {
    const changed = modifiedPaths();
    replaceChildren(editorInfo,
      'A copy of the active version ', h('code', null, String(activeVersion || '?')), '. ',
      changed.length ? `Changed: ${changed.join(', ')}.` : 'No changes yet.',
      ' Check runs it against the golden fixtures and diffs it against the active version; nothing is deployed until you Deploy.');
    for (const [path, ta] of editors) ta.closest('.editor').classList.toggle('modified', ta.value !== original[path]);
  }

  function cursorText(ta) {
    const before = ta.value.slice(0, ta.selectionStart);
    const line = before.split('\n').length;
    const col = ta.selectionStart - before.lastIndexOf('\n');
    return `Line ${line}, column ${col}`;
  }

  function buildEditors(files) {
    editors.clear();
    const blocks = Object.entries(files).map(([path, source]) => {
      const ta = h('textarea', { class: 'code-editor', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', wrap: 'off', rows: '18', dataset: { path } });
      ta.value = source;
      editors.set(path, ta);
      const pos = h('span', { class: 'cursor-pos', 'aria-live': 'off' }, 'Line 1, column 1');
      const updatePos = () => { pos.textContent = cursorText(ta); };
      ta.addEventListener('keyup', updatePos);
      ta.addEventListener('click', updatePos);
      ta.addEventListener('input', () => { updatePos(); updateInfo(); });
      const id = uid('ed');
      ta.id = id;
      const remove = path === 'urgency.lua' ? null : h('button', { type: 'button', class: 'link-button', 'aria-label': `Remove ${path} from the candidate`, onClick: () => {
        const files = candidate();
        delete files[path];
        buildEditors(files);
      } }, 'Remove');
      return h('div', { class: 'editor' },
        h('div', { class: 'editor-head' }, h('label', { for: id }, h('code', null, path)),
          h('span', { class: 'modified-mark' }, original[path] === undefined ? 'new' : 'modified'), remove, pos),
        ta);
    });
    replaceChildren(editorArea, blocks);
    addFileForm.hidden = false;
    for (const b of [checkButton, deployButton, resetButton]) b.disabled = false;
    updateInfo();
  }

  async function loadFiles() {
    try {
      const { data } = await api('/api/rules/files');
      if (disposed) return;
      original = { ...(data.files || {}) };
      activeVersion = data.version;
      buildEditors(original);
    } catch (err) {
      if (disposed) return;
      let text = 'The active rule files could not be loaded.';
      if (err.isMissing) text = 'This server cannot hand out its rule files (GET /api/rules/files is not available), so the candidate editor is off.';
      else if (err.isAuth) text = `Editing rules needs the admin role: ${err.message}`;
      replaceChildren(editorArea, h('p', { class: 'muted' }, text));
      if (!err.isMissing) showError(err, 'Loading the rule files');
    }
  }

  function resetEditors() {
    for (const [path, ta] of editors) ta.value = original[path];
    updateInfo();
    replaceChildren(result);
    confirmBox.hidden = true;
  }

  /** Selects a line of a file in its editor ("Show urgency.lua:36"). */
  function goToLine(file, line) {
    const ta = editors.get(file);
    if (!ta) return;
    const lines = ta.value.split('\n');
    const n = Math.max(1, Math.min(line, lines.length));
    let start = 0;
    for (let i = 0; i < n - 1; i += 1) start += lines[i].length + 1;
    const end = start + lines[n - 1].length;
    ta.focus();
    ta.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 18;
    ta.scrollTop = Math.max(0, (n - 1) * lineHeight - ta.clientHeight / 3);
    ta.dispatchEvent(new KeyboardEvent('keyup'));
  }

  function loadError(data, fallbackText) {
    const text = data && typeof data.error === 'string' ? data.error : fallbackText;
    const parsed = parseFileLine(text);
    const file = (data && data.file) || (parsed && parsed.file);
    const line = (data && data.line) || (parsed && parsed.line);
    return h('div', { class: 'load-error' },
      h('p', { class: 'error-line' }, errorText(text)),
      data && data.kind ? h('p', { class: 'muted' }, `Kind: ${data.kind}`) : null,
      data && data.gate && typeof data.gate === 'object' ? gateResult(data.gate) : null,
      file && line && editors.has(file)
        ? h('button', { type: 'button', class: 'button secondary', onClick: () => goToLine(file, Number(line)) }, `Show ${file}:${line} in the editor`)
        : null);
  }

  function setBusy(isBusy, label) {
    checkButton.disabled = isBusy;
    deployButton.disabled = isBusy;
    resetButton.disabled = isBusy;
    if (isBusy) replaceChildren(result, h('p', { class: 'loading' }, label));
  }

  async function check() {
    confirmBox.hidden = true;
    setBusy(true, 'Checking the candidate against the fixtures…');
    try {
      const { data } = await api('/api/rules/check', { method: 'POST', body: candidate() });
      if (disposed) return;
      clearErrors();
      replaceChildren(result, renderCheck(data));
    } catch (err) {
      if (disposed) return;
      if (err.status === 422) {
        replaceChildren(result, h('div', { class: 'result bad' }, h('h3', null, 'The candidate does not load'), loadError(err.data, err.message)));
      } else if (err.status === 503) {
        replaceChildren(result, h('div', { class: 'result warn' }, h('h3', null, 'Busy'), h('p', null, `Another check is running.${retryText(err)}`)));
        showError(`Another check is running.${retryText(err)}`);
      } else {
        replaceChildren(result);
        showError(err, 'Check');
      }
    } finally {
      if (!disposed) setBusy(false);
    }
  }

  function askDeploy() {
    confirmBox.hidden = false;
    confirmBox.querySelector('#confirm-deploy').focus();
  }

  async function deploy() {
    confirmBox.hidden = true;
    setBusy(true, 'Deploying…');
    const files = candidate();
    try {
      const { data } = await api('/api/rules', { method: 'PUT', body: files });
      if (disposed) return;
      clearErrors();
      const activated = data.outcome === 'activated';
      replaceChildren(result, h('div', { class: `result ${activated ? 'ok' : 'neutral'}` },
        h('h3', null, activated ? 'Deployed' : 'Nothing to deploy'),
        h('p', { id: 'deploy-outcome' }, activated
          ? ['Version ', h('code', { id: 'deployed-version' }, String(data.version)), ' is now active.']
          : ['These files are already active (', h('code', null, String(data.version || activeVersion || '?')), ').']),
        data.error ? loadError(data) : null));
      showStatus(activated ? `Deployed ${data.version}.` : 'Unchanged.');
      if (data.version) activeVersion = data.version;
      original = files;
      updateInfo();
    } catch (err) {
      if (disposed) return;
      if (err.status === 422) {
        replaceChildren(result, h('div', { class: 'result bad' },
          h('h3', null, 'Not deployed: the candidate was rejected'),
          h('p', null, 'The active version keeps serving.'),
          loadError(err.data, err.message)));
        showError(err, 'Deploy rejected');
      } else if (err.status === 503) {
        replaceChildren(result, h('div', { class: 'result warn' }, h('h3', null, 'Busy'), h('p', null, `Another check is running.${retryText(err)}`)));
        showError(`Deploy: another check is running.${retryText(err)}`);
      } else if (err.isMissing) {
        replaceChildren(result, h('div', { class: 'result warn' }, h('p', null, 'This server cannot deploy from the console (PUT /api/rules is not available).')));
      } else {
        replaceChildren(result);
        showError(err, 'Deploy');
      }
    } finally {
      if (!disposed) setBusy(false);
    }
  }

  const offRules = on('rules.activated', (d) => {
    if (!admin || !d || !d.version || d.version === activeVersion) return;
    if (modifiedPaths().length === 0) {
      loadFiles();
      showStatus(`The active rules changed to ${d.version}; the editor now holds them.`);
    } else {
      showStatus(`The active rules changed to ${d.version} while you edit; your copy is based on ${activeVersion}.`);
    }
  });

  if (admin) loadFiles();
  return () => { disposed = true; debouncedScore.cancel(); if (scoreController) scoreController.abort(); offRules(); };
}

function renderCheck(data) {
  const c = data.check || {};
  const d = data.diff || {};
  const failed = Number(c.failed || 0);
  const passed = Number(c.passed || 0);
  const parts = [];
  parts.push(h('div', { class: `result ${failed ? 'bad' : 'ok'}` },
    h('h3', null, 'Fixtures'),
    h('p', { class: 'check-counts', id: 'check-counts' },
      h('strong', { class: 'passed' }, `${passed} passed`), ', ',
      h('strong', { class: failed ? 'failed' : '' }, `${failed} failed`),
      c.rules_version ? [' · candidate version ', h('code', null, String(c.rules_version))] : null),
    passed + failed === 0 ? h('p', { class: 'muted' }, 'The server found no fixtures to run.') : null,
    Array.isArray(c.failures) && c.failures.length
      ? h('ol', { class: 'failures' }, c.failures.map((f) => h('li', null,
        h('div', null, h('code', null, `${f.file || '?'}:${f.line ?? '?'}`), f.id ? [' ', h('span', { class: 'muted' }, String(f.id))] : null),
        h('p', { class: 'quote' }, String(f.message ?? '')),
        h('p', null, `expected ${f.expected}, got `, h('strong', null, String(f.got)), f.breakdown ? ` — ${breakdownSummary(f.breakdown)}` : '',
          f.error ? [' — ', h('span', { class: 'error-text' }, String(f.error))] : null),
        f.note ? h('p', { class: 'muted' }, `Note: ${f.note}`) : null,
        f.breakdown ? h('details', null, h('summary', null, 'Breakdown'), renderBreakdown(f.breakdown)) : null)))
      : null));

  if (Array.isArray(c.accuracy) && c.accuracy.length) {
    parts.push(h('div', { class: 'result neutral' }, h('h3', null, 'Accuracy'),
      h('div', { class: 'table-wrap' }, h('table', null,
        h('thead', null, h('tr', null, ['Set', 'n', 'pairwise', 'exact', 'within 1', 'MAE', 'thresholds'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, c.accuracy.map((a) => h('tr', null,
          h('td', null, h('code', null, String(a.file))),
          h('td', { class: 'num' }, String(a.n ?? '—')),
          h('td', { class: 'num' }, fixed(a.pairwise)),
          h('td', { class: 'num' }, fixed(a.exact)),
          h('td', { class: 'num' }, fixed(a.within1)),
          h('td', { class: 'num' }, fixed(a.mae)),
          h('td', null, Array.isArray(a.below_threshold) && a.below_threshold.length
            ? h('ul', { class: 'plain bad' }, a.below_threshold.map((t) => h('li', null, String(t))))
            : h('span', { class: 'ok-text' }, 'met')))))))));
  }

  const changes = Array.isArray(d.changes) ? d.changes : [];
  const diffBox = h('div', { class: 'result neutral' }, h('h3', null, 'Diff against the active version'),
    h('p', { id: 'diff-summary' },
      h('code', null, String(d.old_version || '?')), ' → ', h('code', null, String(d.new_version || '?')), ': ',
      h('strong', null, `${d.changed ?? changes.length} of ${d.total ?? '?'} messages change`),
      d.mean_shift !== undefined ? `; mean shift ${Number(d.mean_shift) >= 0 ? '+' : ''}${fixed(d.mean_shift)}` : '',
      d.mean_shift_of_changes !== undefined && changes.length ? ` (${Number(d.mean_shift_of_changes) >= 0 ? '+' : ''}${fixed(d.mean_shift_of_changes)} among the changed)` : ''));
  if (d.band_matrix && Object.keys(d.band_matrix).length) diffBox.appendChild(matrix('Urgency band, old → new', d.band_matrix));
  if (d.tier_matrix && Object.keys(d.tier_matrix).length && !(Object.keys(d.tier_matrix).length === 1 && d.tier_matrix.none)) {
    diffBox.appendChild(matrix('Tier, old → new', d.tier_matrix));
  }
  if (changes.length) {
    const list = h('ol', { class: 'changes' });
    const addItems = (from, to) => { for (const ch of changes.slice(from, to)) list.appendChild(changeItem(ch)); };
    addItems(0, CHANGES_SHOWN);
    diffBox.appendChild(list);
    if (changes.length > CHANGES_SHOWN) {
      const more = h('button', { type: 'button', class: 'button secondary', onClick: () => { addItems(CHANGES_SHOWN, changes.length); more.remove(); } },
        `Show all ${changes.length} changes`);
      diffBox.appendChild(more);
    }
  }
  parts.push(diffBox);
  return parts;
}

function urgencyOf(side) {
  if (!side || typeof side !== 'object') return side;
  return side.urgency;
}

function changeItem(ch) {
  const oldU = urgencyOf(ch.old);
  const newU = urgencyOf(ch.new);
  const up = Number(newU) > Number(oldU);
  return h('li', { class: 'change' },
    h('p', { class: 'quote' }, String(ch.message ?? '')),
    h('p', { class: 'change-line' },
      urgencyBadge(oldU), h('span', { class: `arrow ${up ? 'up' : 'down'}`, 'aria-hidden': 'true' }, up ? '↗' : '↘'), h('span', { class: 'visually-hidden' }, up ? 'rises to' : 'falls to'), urgencyBadge(newU),
      h('span', null, `${formatUrgency(oldU)} → ${formatUrgency(newU)}`),
      ch.old && ch.new && ch.old.breakdown && ch.new.breakdown
        ? h('span', { class: 'muted' }, `${breakdownSummary(ch.old.breakdown)} → ${breakdownSummary(ch.new.breakdown)}`) : null),
    ch.source ? h('p', { class: 'muted' }, h('code', null, String(ch.source))) : null);
}

function matrix(title, m) {
  const rows = Object.keys(m).sort();
  const cols = [...new Set(rows.flatMap((r) => Object.keys(m[r] || {})))].sort();
  return h('div', { class: 'table-wrap' }, h('table', { class: 'matrix' },
    h('caption', null, title),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'old \\ new'), cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, h('th', { scope: 'row' }, r),
      cols.map((c) => {
        const v = (m[r] || {})[c];
        return h('td', { class: `num${v && r !== c ? ' moved' : ''}` }, v ? String(v) : '');
      }))))));
}
