// Ticket: the message, its urgency and breakdown, replies, its history, actions and the customer's panel.
// What can be done follows the role of the key (GET /api/whoami): read keys see no reply form and no actions;
// with a key, replies and assignments are made in the key holder's name.
import { api, queryString } from './api.js';
import { h, replaceChildren, ageElement, urgencyBadge, formatDateTime, field, dl, formatUrgency } from './dom.js';
import { showError, showStatus } from './alerts.js';
import { on } from './events.js';
import { identity, can, actsAsKeyHolder, needsRole } from './auth.js';
import { renderBreakdown } from './breakdown.js';
import { ticketRow } from './inbox.js';

const AGENT_KEY = 'urgencyiq.agentName';

function rememberedAgent() {
  try { return localStorage.getItem(AGENT_KEY) || ''; } catch { return ''; }
}
function rememberAgent(name) {
  try { localStorage.setItem(AGENT_KEY, name); } catch { /* not kept */ }
}

/** One history entry in words: "alice replied", "lead assigned to bob", "alice resolved". */
export function historyText(entry) {
  const actor = String(entry.actor ?? 'someone');
  const detail = entry.detail && typeof entry.detail === 'object' ? entry.detail : {};
  const agent = typeof detail.agent_name === 'string' ? detail.agent_name : null;
  switch (entry.action) {
    case 'message.reply': return agent && agent !== actor ? `${actor} replied as ${agent}` : `${actor} replied`;
    case 'message.assign': return agent ? `${actor} assigned to ${agent}` : `${actor} assigned`;
    case 'message.unassign': return `${actor} unassigned`;
    case 'message.resolve': return `${actor} resolved`;
    default: return `${actor}: ${String(entry.action ?? 'unknown action').replace(/^message\./, '')}`;
  }
}

export function historyItem(entry) {
  return h('li', { class: `history-entry action-${String(entry.action || '').replace(/[^a-z]/g, '-')}` },
    h('span', { class: 'history-what' }, historyText(entry)),
    h('span', { class: 'history-when' }, entry.role ? `${entry.role} · ` : '', formatDateTime(entry.at), ' (', ageElement(entry.at), ')',
      entry.address ? ` · from ${entry.address}` : ''));
}

export function mount(view, params) {
  const id = Number(params.id);
  let disposed = false;
  let message = null;
  let busy = false;
  const who = identity();
  const mayAct = can('agent'); // reply, assign, unassign, resolve
  const asHolder = actsAsKeyHolder(); // the server names the key's holder; the name fields are filled in
  const mayAssignAnyone = !asHolder || can('admin');

  const head = h('div', { class: 'page-head' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/inbox' }, '← Inbox')),
    h('h1', null, `Ticket #${id}`));
  const messageSection = h('section', { class: 'card', 'aria-labelledby': 'msg-h' }, h('h2', { id: 'msg-h' }, 'Message'), h('p', { class: 'loading' }, 'Loading…'));
  const breakdownSection = h('section', { class: 'card', 'aria-labelledby': 'bd-h' }, h('h2', { id: 'bd-h' }, 'Why this urgency'));
  const repliesSection = h('section', { class: 'card', 'aria-labelledby': 'rep-h' }, h('h2', { id: 'rep-h' }, 'Replies'));
  const historySection = h('section', { class: 'card', 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h' }, 'History'), h('p', { class: 'loading' }, 'Loading…'));
  const actionsSection = h('section', { class: 'card', 'aria-labelledby': 'act-h' }, h('h2', { id: 'act-h' }, mayAct ? 'Actions' : 'Assignment'));
  const customerSection = h('section', { class: 'card', 'aria-labelledby': 'cust-h' }, h('h2', { id: 'cust-h' }, 'Customer'));
  const othersSection = h('section', { class: 'card', 'aria-labelledby': 'oth-h' }, h('h2', { id: 'oth-h' }, 'Their other tickets'));

  // The reply form and action controls are built once so typing survives live refreshes.
  const agentInput = h('input', { type: 'text', name: 'agent_name', autocomplete: 'name', maxlength: '200', required: true,
    value: asHolder ? who.name : rememberedAgent(), readonly: asHolder });
  const replyInput = h('textarea', { name: 'reply', rows: '4', required: true });
  const replyButton = h('button', { type: 'submit', class: 'button' }, 'Send reply');
  const replyForm = h('form', { class: 'reply-form', 'aria-label': 'Reply to the customer' },
    field('Agent name', agentInput, asHolder ? 'Replies are made in the name of the key’s holder.' : null).wrap, field('Reply', replyInput).wrap, h('div', { class: 'form-actions' }, replyButton));
  replyForm.addEventListener('submit', (event) => { event.preventDefault(); sendReply(); });

  const assignInput = h('input', { type: 'text', name: 'assign_to', autocomplete: 'off', maxlength: '200',
    value: asHolder ? who.name : rememberedAgent(), readonly: !mayAssignAnyone });
  const assignButton = h('button', { type: 'submit', class: 'button' }, 'Assign');
  const assignForm = h('form', { class: 'inline-form', 'aria-label': 'Assign the ticket' },
    field('Assign to (agent name)', assignInput, mayAssignAnyone ? null : 'An agent key assigns tickets to its holder.').wrap, assignButton);
  assignForm.addEventListener('submit', (event) => { event.preventDefault(); assign(); });
  const unassignButton = h('button', { type: 'button', class: 'button secondary', onClick: unassign }, 'Unassign');
  const resolveButton = h('button', { type: 'button', class: 'button resolve', onClick: resolve }, 'Resolve');
  const assignState = h('p', { class: 'assign-state' });
  if (mayAct) {
    replaceChildren(actionsSection, h('h2', { id: 'act-h' }, 'Actions'), assignState, assignForm,
      h('div', { class: 'button-row' }, unassignButton, resolveButton));
  } else {
    replaceChildren(actionsSection, h('h2', { id: 'act-h' }, 'Assignment'), assignState,
      h('p', { class: 'readonly-note' }, needsRole('Replying, assigning and resolving', 'agent')));
  }

  const layout = h('div', { class: 'ticket-layout' },
    h('div', { class: 'ticket-col' }, messageSection, breakdownSection, repliesSection,
      mayAct ? h('section', { class: 'card', 'aria-labelledby': 'new-h' }, h('h2', { id: 'new-h' }, 'Write a reply'), replyForm) : null,
      historySection),
    h('div', { class: 'ticket-side' }, actionsSection, customerSection, othersSection));
  replaceChildren(view, head, layout);

  async function load() {
    try {
      const { data } = await api(`/api/messages/${id}`);
      if (disposed) return;
      message = data;
      render();
      loadCustomer(data.customer_id);
      loadHistory();
    } catch (err) {
      if (disposed) return;
      replaceChildren(messageSection, h('h2', { id: 'msg-h' }, 'Message'),
        h('p', null, err.status === 404 ? `There is no ticket #${id}.` : 'The ticket could not be loaded.'));
      showError(err, `Loading ticket #${id}`);
    }
  }

  function render() {
    const m = message;
    replaceChildren(messageSection,
      h('h2', { id: 'msg-h' }, 'Message'),
      h('div', { class: 'message-head' },
        urgencyBadge(m.urgency, { large: true }),
        h('span', { class: `status status-${m.status}` }, m.status),
        h('span', null, 'from customer ', h('a', { href: `#/inbox?status=all&user_id=${encodeURIComponent(m.customer_id)}` }, String(m.customer_id))),
        h('span', null, 'received ', ageElement(m.timestamp), h('span', { class: 'muted' }, ` (${formatDateTime(m.timestamp)})`)),
        m.first_response_at
          ? h('span', null, 'first reply ', h('span', { class: 'muted' }, formatDateTime(m.first_response_at)))
          : m.first_response_due
            ? h('span', { class: m.overdue ? 'overdue' : null }, m.overdue ? 'overdue: ' : 'first reply due ',
                h('span', null, formatDateTime(m.first_response_due)))
            : null),
      h('blockquote', { class: 'message-text' }, m.message));

    replaceChildren(breakdownSection, h('h2', { id: 'bd-h' }, 'Why this urgency'),
      renderBreakdown(m.breakdown, { urgency: m.urgency, version: m.rules_version }));

    const replies = Array.isArray(m.replies) ? m.replies : [];
    replaceChildren(repliesSection, h('h2', { id: 'rep-h' }, `Replies (${replies.length})`),
      replies.length
        ? h('ol', { class: 'replies' }, replies.map((r) => h('li', { class: 'reply' },
          h('div', { class: 'reply-head' }, h('strong', { class: 'agent' }, String(r.agent_name)), ' · ', ageElement(r.timestamp)),
          h('p', { class: 'reply-text' }, String(r.reply)))))
        : h('p', { class: 'muted' }, 'No replies yet.'));

    replaceChildren(assignState,
      m.assigned_to
        ? ['Assigned to ', h('strong', { class: 'assignee' }, String(m.assigned_to)), m.assigned_at ? [' · ', ageElement(m.assigned_at)] : null]
        : 'Not assigned.');
    unassignButton.disabled = busy || !m.assigned_to;
    resolveButton.disabled = busy || m.status === 'resolved';
    resolveButton.textContent = m.status === 'resolved' ? 'Resolved' : 'Resolve';
    document.title = `#${m.id} (${formatUrgency(m.urgency)}) · UrgencyIQ`;
  }

  async function loadCustomer(customerId) {
    try {
      const [{ data: c }, { data: others }] = await Promise.all([
        api(`/api/customers/${encodeURIComponent(customerId)}`),
        api(`/api/messages${queryString({ user_id: customerId, status: 'all', sort: 'time', limit: 20 })}`),
      ]);
      if (disposed) return;
      replaceChildren(customerSection, h('h2', { id: 'cust-h' }, `Customer ${c.id}`),
        dl([
          ['Tickets', String(c.total_messages)],
          ['Open', String(c.open_messages)],
          ['Resolved', String(c.resolved_messages)],
          ['Average urgency', c.avg_urgency === null || c.avg_urgency === undefined ? '—' : formatUrgency(c.avg_urgency)],
          ['First contact', [formatDateTime(c.first_contact), ' (', ageElement(c.first_contact), ')']],
          ['Last contact', [formatDateTime(c.last_contact), ' (', ageElement(c.last_contact), ')']],
        ]),
        h('p', null, h('a', { href: `#/inbox?status=all&user_id=${encodeURIComponent(c.id)}` }, 'All their tickets in the inbox')));
      const rest = (Array.isArray(others) ? others : []).filter((o) => o.id !== id);
      replaceChildren(othersSection, h('h2', { id: 'oth-h' }, `Their other tickets (${rest.length}${others.length >= 20 ? '+' : ''})`),
        rest.length ? h('ol', { class: 'ticket-list compact' }, rest.map((o) => ticketRow(o, { compact: true })))
          : h('p', { class: 'muted' }, 'No other tickets.'));
    } catch (err) {
      if (disposed) return;
      replaceChildren(customerSection, h('h2', { id: 'cust-h' }, 'Customer'), h('p', null, 'The customer could not be loaded.'));
      showError(err, 'Loading the customer');
    }
  }

  let historySeq = 0;
  async function loadHistory() {
    historySeq += 1;
    const seq = historySeq;
    try {
      const { data } = await api(`/api/messages/${id}/history`);
      if (disposed || seq !== historySeq) return;
      const entries = Array.isArray(data) ? data : [];
      replaceChildren(historySection, h('h2', { id: 'hist-h' }, `History (${entries.length})`),
        entries.length ? h('ol', { class: 'history', id: 'ticket-history' }, entries.map(historyItem))
          : h('p', { class: 'muted' }, 'Nobody has replied, assigned or resolved it yet.'));
    } catch (err) {
      if (disposed || seq !== historySeq) return;
      replaceChildren(historySection, h('h2', { id: 'hist-h' }, 'History'),
        h('p', { class: 'muted' }, err.isMissing ? 'This server keeps no history of its tickets.' : 'The history could not be loaded.'));
      if (!err.isMissing) showError(err, 'Loading the history');
    }
  }

  async function act(action, successText, path, body, done) {
    if (busy) return;
    busy = true;
    for (const b of [replyButton, assignButton, unassignButton, resolveButton]) b.disabled = true;
    try {
      await api(path, { method: 'POST', body });
      if (done) done();
      showStatus(successText);
      const { data } = await api(`/api/messages/${id}`);
      if (disposed) return;
      message = data;
      loadHistory();
    } catch (err) {
      if (!disposed) showError(err, action);
    } finally {
      busy = false;
      replyButton.disabled = false;
      assignButton.disabled = false;
      if (!disposed && message) render();
    }
  }

  function sendReply() {
    const agent = agentInput.value.trim();
    const text = replyInput.value.trim();
    if (!agent || !text) {
      showError(!agent ? 'Enter the agent name before replying.' : 'Write the reply first.');
      (!agent ? agentInput : replyInput).focus();
      return;
    }
    // With a key the server names its holder; sending another name would be refused.
    if (!asHolder) rememberAgent(agent);
    const body = asHolder ? { reply: text } : { agent_name: agent, reply: text };
    act('Sending the reply', 'Reply sent.', `/api/messages/${id}/reply`, body, () => { replyInput.value = ''; });
  }

  function assign() {
    const agent = assignInput.value.trim();
    if (!agent) { showError('Enter the agent name to assign the ticket to.'); assignInput.focus(); return; }
    act('Assigning', `Assigned to ${agent}.`, `/api/messages/${id}/assign`, { agent_name: agent });
  }

  function unassign() { act('Unassigning', 'Unassigned.', `/api/messages/${id}/unassign`); }
  function resolve() { act('Resolving', 'Resolved.', `/api/messages/${id}/resolve`); }

  // Live: an event for this message refreshes it; one from the same customer refreshes their panel.
  let refreshTimer = null;
  function onEvent(data) {
    if (!data || disposed) return;
    if (data.message_id === id) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(async () => {
        if (busy) return;
        try {
          const { data: m } = await api(`/api/messages/${id}`);
          if (disposed) return;
          message = m;
          render();
          loadCustomer(m.customer_id);
          loadHistory();
        } catch (err) { if (!disposed) showError(err, 'Refreshing the ticket'); }
      }, 150);
    } else if (message && data.user_id === message.customer_id) {
      loadCustomer(message.customer_id);
    }
  }
  const off1 = on('message.updated', onEvent);
  const off2 = on('message.created', onEvent);
  const off3 = on('resync', () => { if (!busy) load(); });

  load();
  return () => { disposed = true; off1(); off2(); off3(); clearTimeout(refreshTimer); };
}

