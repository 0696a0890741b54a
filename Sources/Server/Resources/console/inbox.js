// Inbox: the ticket queue with filters, cursor paging and live inserts.
import { api, nextLink, totalCount, queryString } from './api.js';
import { h, replaceChildren, ageElement, urgencyBadge, urgencyLevel, parseTimestamp, debounce, field, plural, formatDateTime } from './dom.js';
import { showError, clearErrors } from './alerts.js';
import { on } from './events.js';

const PAGE_SIZE = 50;

// Filters survive a visit to a ticket and back.
const filters = { status: 'open', sort: 'urgency', user_id: '', search: '' };

function asciiLower(s) {
  return String(s).replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function timeValue(m) {
  const d = parseTimestamp(m.timestamp);
  return d ? d.getTime() : 0;
}

/** Where a ticket stands in the `due` order: its first-response due time while unanswered, else last. */
function dueKey(m) {
  if (m.first_response_at || !m.first_response_due) return Number.MAX_VALUE;
  const due = parseTimestamp(m.first_response_due);
  return due ? due.getTime() : Number.MAX_VALUE;
}

/** The API's order: urgency desc, then newest, then id desc (sort=urgency); newest then id desc (sort=time);
 *  earliest first-response due first, answered and target-less last, then id asc (sort=due). */
export function compareTickets(a, b, sort) {
  if (sort === 'due') {
    const dd = dueKey(a) - dueKey(b);
    if (dd !== 0) return dd;
    return Number(a.id) - Number(b.id);
  }
  if (sort === 'urgency') {
    const du = Number(b.urgency) - Number(a.urgency);
    if (du !== 0) return du;
  }
  const dt = timeValue(b) - timeValue(a);
  if (dt !== 0) return dt;
  if (a.timestamp !== b.timestamp) return String(a.timestamp) < String(b.timestamp) ? 1 : -1;
  return Number(b.id) - Number(a.id);
}

function matches(m, f) {
  if (f.status !== 'all' && m.status !== f.status) return false;
  if (f.user_id && String(m.customer_id) !== String(f.user_id)) return false;
  if (f.search && !asciiLower(m.message).includes(asciiLower(f.search))) return false;
  return true;
}

/** One ticket as a list row; the whole row is a link target through its title link. */
export function ticketRow(m, { compact = false } = {}) {
  const level = urgencyLevel(m.urgency);
  const meta = [
    h('span', { class: 'ticket-id' }, `#${m.id}`),
    h('span', null, 'customer ', h('span', { class: 'customer-id' }, String(m.customer_id))),
    h('span', { class: `status status-${m.status}` }, m.status),
    m.assigned_to
      ? h('span', { class: 'assignee' }, 'assigned to ', h('strong', null, m.assigned_to))
      : h('span', { class: 'assignee unassigned' }, 'unassigned'),
    m.replies && m.replies.length ? h('span', null, plural(m.replies.length, 'reply', 'replies')) : null,
    m.overdue ? h('span', { class: 'overdue', title: `first reply was due ${formatDateTime(m.first_response_due)}` }, 'overdue') : null,
  ];
  return h('li', { class: `ticket-row level-${level}${m.status === 'resolved' ? ' is-resolved' : ''}`, dataset: { id: String(m.id) } },
    urgencyBadge(m.urgency),
    h('div', { class: 'ticket-main' },
      h('a', { class: 'ticket-link', href: `#/ticket/${m.id}` }, m.message),
      compact ? null : h('div', { class: 'ticket-meta' }, meta),
      compact ? h('div', { class: 'ticket-meta' }, meta[0], meta[2]) : null),
    ageElement(m.timestamp));
}

export function mount(view, _params, query) {
  // A link with filters (#/inbox?user_id=1056&status=all) sets all of them; a plain #/inbox keeps the last ones.
  const keys = ['status', 'sort', 'user_id', 'search'];
  if (keys.some((key) => query.has(key))) {
    Object.assign(filters, { status: 'open', sort: 'urgency', user_id: '', search: '' });
    for (const key of keys) if (query.has(key)) filters[key] = query.get(key).trim();
  }
  if (!['open', 'resolved', 'all'].includes(filters.status)) filters.status = 'open';
  if (!['urgency', 'time', 'due'].includes(filters.sort)) filters.sort = 'urgency';

  let rows = []; // the loaded messages, in order
  let next = null; // URL of the next page
  let total = null; // {count, estimate}
  let generation = 0; // bumps on every reload so stale answers are ignored
  let controller = null;
  let disposed = false;

  const list = h('ol', { class: 'ticket-list', 'aria-label': 'Tickets', 'aria-busy': 'true' });
  const summary = h('p', { class: 'summary', id: 'inbox-summary' }, 'Loading…');
  const announcer = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const moreButton = h('button', { type: 'button', class: 'button', hidden: true, onClick: loadMore }, 'Load more');
  const empty = h('p', { class: 'empty', hidden: true }, 'No tickets match these filters.');

  const statusSelect = h('select', { name: 'status' },
    h('option', { value: 'open' }, 'Open'), h('option', { value: 'resolved' }, 'Resolved'), h('option', { value: 'all' }, 'All'));
  statusSelect.value = filters.status;
  const sortSelect = h('select', { name: 'sort' },
    h('option', { value: 'urgency' }, 'Most urgent first'), h('option', { value: 'time' }, 'Newest first'),
    h('option', { value: 'due' }, 'First reply due soonest'));
  sortSelect.value = filters.sort;
  const customerInput = h('input', { type: 'text', name: 'user_id', inputmode: 'numeric', autocomplete: 'off', placeholder: 'any', value: filters.user_id, pattern: '[0-9]*' });
  const searchInput = h('input', { type: 'search', name: 'search', autocomplete: 'off', placeholder: 'words in the message', value: filters.search });
  const customerError = h('p', { class: 'field-error', id: 'customer-error', hidden: true }, 'A customer id is a number, e.g. 1056.');
  const clearButton = h('button', { type: 'button', class: 'button secondary', onClick: () => {
    statusSelect.value = 'open'; sortSelect.value = 'urgency'; customerInput.value = ''; searchInput.value = '';
    applyFilters();
  } }, 'Clear filters');

  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tickets' },
    field('Status', statusSelect).wrap,
    field('Order', sortSelect).wrap,
    field('Customer id', customerInput).wrap,
    field('Search', searchInput).wrap,
    h('div', { class: 'field actions' }, clearButton),
    customerError);
  form.addEventListener('submit', (event) => { event.preventDefault(); debounced.cancel(); applyFilters(); });
  statusSelect.addEventListener('change', applyFilters);
  sortSelect.addEventListener('change', applyFilters);
  const debounced = debounce(applyFilters, 350);
  customerInput.addEventListener('input', debounced);
  searchInput.addEventListener('input', debounced);

  replaceChildren(view,
    h('div', { class: 'page-head' }, h('h1', null, 'Inbox'), summary),
    form,
    list,
    empty,
    h('div', { class: 'more' }, moreButton),
    announcer);

  function applyFilters() {
    const uid = customerInput.value.trim();
    if (uid && !/^[1-9][0-9]*$/.test(uid)) {
      customerError.hidden = false;
      customerInput.setAttribute('aria-invalid', 'true');
      customerInput.setAttribute('aria-describedby', 'customer-error');
      return;
    }
    customerError.hidden = true;
    customerInput.removeAttribute('aria-invalid');
    filters.status = statusSelect.value;
    filters.sort = sortSelect.value;
    filters.user_id = uid;
    filters.search = searchInput.value.trim();
    const q = new URLSearchParams();
    if (filters.status !== 'open') q.set('status', filters.status);
    if (filters.sort !== 'urgency') q.set('sort', filters.sort);
    if (filters.user_id) q.set('user_id', filters.user_id);
    if (filters.search) q.set('search', filters.search);
    const qs = q.toString();
    history.replaceState(null, '', `#/inbox${qs ? `?${qs}` : ''}`);
    reload();
  }

  function renderSummary() {
    const shown = rows.length;
    let text;
    if (total && Number.isFinite(total.count)) {
      text = total.estimate
        ? `Showing ${shown} of about ${total.count} tickets`
        : `Showing ${shown} of ${plural(total.count, 'ticket')}`;
    } else {
      text = `Showing ${plural(shown, 'ticket')}${next ? ' (more available)' : ''}`;
    }
    summary.textContent = text;
    empty.hidden = shown > 0;
    moreButton.hidden = !next;
  }

  async function reload() {
    generation += 1;
    const gen = generation;
    if (controller) controller.abort();
    controller = new AbortController();
    list.setAttribute('aria-busy', 'true');
    summary.textContent = 'Loading…';
    const q = queryString({ status: filters.status, sort: filters.sort, user_id: filters.user_id, search: filters.search, limit: PAGE_SIZE });
    try {
      const { data, headers } = await api(`/api/messages${q}`, { signal: controller.signal });
      if (gen !== generation || disposed) return;
      clearErrors();
      rows = Array.isArray(data) ? data : [];
      next = nextLink(headers);
      total = totalCount(headers);
      replaceChildren(list, rows.map((m) => ticketRow(m)));
      renderSummary();
    } catch (err) {
      if (gen !== generation || disposed) return;
      summary.textContent = 'Could not load the tickets.';
      showError(err, 'Loading the inbox');
    } finally {
      if (gen === generation) list.setAttribute('aria-busy', 'false');
    }
  }

  async function loadMore() {
    if (!next) return;
    const gen = generation;
    moreButton.disabled = true;
    moreButton.textContent = 'Loading…';
    try {
      const { data, headers } = await api(next);
      if (gen !== generation || disposed) return;
      const have = new Set(rows.map((m) => m.id));
      const fresh = (Array.isArray(data) ? data : []).filter((m) => !have.has(m.id));
      rows = rows.concat(fresh);
      next = nextLink(headers);
      const t = totalCount(headers);
      if (t) total = t;
      const firstNew = fresh.length ? ticketRow(fresh[0]) : null;
      for (const m of fresh) list.appendChild(m === fresh[0] ? firstNew : ticketRow(m));
      renderSummary();
      if (firstNew) firstNew.querySelector('a').focus();
    } catch (err) {
      showError(err, 'Loading more tickets');
    } finally {
      moreButton.disabled = false;
      moreButton.textContent = 'Load more';
    }
  }

  function removeRow(id) {
    const index = rows.findIndex((m) => m.id === id);
    if (index < 0) return false;
    rows.splice(index, 1);
    const el = list.querySelector(`li[data-id="${id}"]`);
    if (el) el.remove();
    return true;
  }

  /** Puts a message at its place in the current order (or leaves it for a later page). */
  function placeRow(m, isNew) {
    let index = rows.findIndex((r) => compareTickets(m, r, filters.sort) < 0);
    if (index < 0) {
      if (next) return false; // it sorts after the loaded rows: the next page will bring it
      index = rows.length;
    }
    rows.splice(index, 0, m);
    const el = ticketRow(m);
    if (isNew) el.classList.add('fresh');
    const before = list.children[index] || null;
    list.insertBefore(el, before);
    return true;
  }

  // Live events are handled one at a time, in order.
  let queue = Promise.resolve();
  function handleEvent(kind, data) {
    queue = queue.then(() => applyEvent(kind, data)).catch(() => {});
  }

  async function applyEvent(kind, data) {
    if (disposed || !data || typeof data.message_id !== 'number') return;
    const id = data.message_id;
    const present = rows.some((m) => m.id === id);
    // Cheap checks first, from the event itself.
    if (!present) {
      if (filters.user_id && String(data.user_id) !== String(filters.user_id)) return;
      if (filters.status !== 'all' && data.status && data.status !== filters.status) return;
    }
    const gen = generation;
    let m;
    try {
      ({ data: m } = await api(`/api/messages/${id}`));
    } catch (err) {
      if (err.status === 404) { if (removeRow(id) && total && !total.estimate) total.count -= 1; renderSummary(); }
      return;
    }
    if (disposed || gen !== generation) return;
    const oldEl = list.querySelector(`li[data-id="${id}"]`);
    const hadFocus = Boolean(oldEl && oldEl.contains(document.activeElement));
    const wasPresent = removeRow(id);
    const fits = matches(m, filters);
    let placed = false;
    if (fits) placed = placeRow(m, kind === 'message.created' || !wasPresent);
    if (total && !total.estimate) {
      if (fits && !wasPresent) total.count += 1;
      if (!fits && wasPresent) total.count -= 1;
    }
    renderSummary();
    if (hadFocus) {
      const link = list.querySelector(`li[data-id="${id}"] a`);
      if (link) link.focus({ preventScroll: true });
    }
    if (placed && !wasPresent) {
      announcer.textContent = `New ticket #${m.id}, urgency ${m.urgency}`;
    }
  }

  const offCreated = on('message.created', (d) => handleEvent('message.created', d));
  const offUpdated = on('message.updated', (d) => handleEvent('message.updated', d));
  const offResync = on('resync', () => reload()); // the stream was closed for a while: events may be missed

  reload();

  return () => {
    disposed = true;
    offCreated();
    offUpdated();
    offResync();
    debounced.cancel();
    if (controller) controller.abort();
  };
}
