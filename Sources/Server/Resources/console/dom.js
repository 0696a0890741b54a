// Small DOM helpers. Everything that comes from the server or a customer is set
// as text (textContent / createTextNode), never parsed as HTML.

/**
 * h('a', {href: '#/x', class: 'c', onClick: fn}, 'text', child) creates an element.
 * Attributes starting with "on" become event listeners; "class" sets className;
 * "dataset" is an object copied to data-*; boolean true/false set or skip the attribute.
 * Children may be strings (text nodes), numbers, nodes, arrays, null or undefined.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
      else if (key === 'value') el.value = value;
      else if (key === 'checked') el.checked = Boolean(value);
      else if (key === 'style') throw new Error('no inline styles (CSP)');
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replaceChildren(el, ...children) {
  clear(el);
  return append(el, children);
}

/** Server timestamps are UTC without a zone ("2026-03-01T09:40:50[.ffffff]"). */
export function parseTimestamp(ts) {
  if (!ts) return null;
  let s = String(ts);
  if (!/[zZ]|[+-]\d\d:?\d\d$/.test(s)) s += 'Z';
  // Keep at most milliseconds: some engines refuse microseconds.
  s = s.replace(/(\.\d{3})\d+/, '$1');
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatAge(ts, now = Date.now()) {
  const d = parseTimestamp(ts);
  if (!d) return '';
  let seconds = Math.round((now - d.getTime()) / 1000);
  if (seconds < 0) seconds = 0;
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 45) return days === 1 ? '1 day ago' : `${days} days ago`;
  const months = Math.round(days / 30.44);
  if (months < 12) return months === 1 ? '1 month ago' : `${months} months ago`;
  const years = Math.round(days / 365.25);
  return years === 1 ? '1 year ago' : `${years} years ago`;
}

export function formatDateTime(ts) {
  const d = parseTimestamp(ts);
  if (!d) return ts ? String(ts) : '—';
  return d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

/** A <time> element showing the age, with the full date as its tooltip; refreshed by refreshAges(). */
export function ageElement(ts) {
  const d = parseTimestamp(ts);
  return h('time', {
    class: 'age',
    datetime: d ? d.toISOString() : undefined,
    title: d ? d.toLocaleString() : undefined,
    dataset: { ts: ts || '' },
  }, formatAge(ts));
}

export function refreshAges(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time.age[data-ts]')) {
    const text = formatAge(el.dataset.ts, now);
    if (el.textContent !== text) el.textContent = text;
  }
}

/** Urgency level 1–5 by rounding the score. */
export function urgencyLevel(urgency) {
  const n = Number(urgency);
  if (!Number.isFinite(n)) return 0;
  return Math.min(5, Math.max(1, Math.round(n)));
}

export function formatUrgency(urgency) {
  const n = Number(urgency);
  if (!Number.isFinite(n)) return '?';
  return n.toFixed(2).replace(/0$/, '');
}

const LEVEL_NAMES = { 1: 'minimal', 2: 'low', 3: 'medium', 4: 'high', 5: 'critical' };

/** A colour-coded badge that also says the number (never colour alone). */
export function urgencyBadge(urgency, { large = false } = {}) {
  const level = urgencyLevel(urgency);
  const label = `Urgency ${formatUrgency(urgency)}, level ${level} (${LEVEL_NAMES[level] || 'unknown'})`;
  return h('span', { class: `urgency level-${level}${large ? ' large' : ''}`, title: label, 'aria-label': label, role: 'img' },
    h('span', { class: 'urgency-level', 'aria-hidden': 'true' }, String(level || '?')),
    h('span', { class: 'urgency-score', 'aria-hidden': 'true' }, formatUrgency(urgency)));
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; fn(...args); }, ms);
  };
  wrapped.cancel = () => { clearTimeout(timer); timer = null; };
  return wrapped;
}

let idCounter = 0;
export function uid(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: returns { wrap, input }. */
export function field(labelText, inputEl, hint) {
  if (!inputEl.id) inputEl.id = uid('f');
  const hintEl = hint ? h('span', { class: 'hint', id: `${inputEl.id}-hint` }, hint) : null;
  if (hintEl) inputEl.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: inputEl.id }, labelText), inputEl, hintEl);
  return { wrap, input: inputEl };
}

/** A definition list from [term, value] pairs (values may be nodes or text). */
export function dl(pairs, className = 'facts') {
  return h('dl', { class: className }, pairs.filter(Boolean).map(([term, value]) => [h('dt', null, term), h('dd', null, value)]));
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Splits "urgency.lua:12: message" into { file, line, rest } when it starts with file:line. */
export function parseFileLine(text) {
  const m = /^\s*([A-Za-z0-9_\-./]+\.lua|[A-Za-z0-9_\-./]+\.csv):(\d+):?\s*/.exec(String(text || ''));
  if (!m) return null;
  return { file: m[1], line: Number(m[2]), rest: String(text).slice(m[0].length) };
}

/** Renders an error text, with a leading file:line set apart in <code>. */
export function errorText(text) {
  const parsed = parseFileLine(text);
  if (!parsed) return h('span', { class: 'error-text' }, String(text));
  return h('span', { class: 'error-text' }, h('code', { class: 'file-line' }, `${parsed.file}:${parsed.line}`), ' ', parsed.rest);
}
