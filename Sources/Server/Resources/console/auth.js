// Who is signed in: GET /api/whoami's answer, and what its role allows.
//   read  — the inbox, tickets, customers, rules (no files), LLM status, live events
//   agent — read, and reply, assign, unassign, resolve, send, score (the playground's scoring)
//   admin — everything: rules files, reload, check, deploy, the LLM toggle
import { api } from './api.js';

const RANK = { read: 1, agent: 2, admin: 3 };

let current = null; // {name, role, credential: 'key'|'admin-token'|'none', auth_required}
const listeners = new Set();

/** The signed-in identity, or null before the first answer (and while a key is asked for). */
export function identity() {
  return current;
}

export function setIdentity(next) {
  current = next;
  for (const fn of [...listeners]) {
    try { fn(current); } catch (err) { console.warn('identity listener failed', err); }
  }
}

/** Subscribe to identity changes; returns the unsubscribe function. */
export function onIdentity(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Whether the identity's role is at least `role` ('read', 'agent' or 'admin'). */
export function can(role, who = current) {
  return Boolean(who) && (RANK[who.role] || 0) >= (RANK[role] || Infinity);
}

/** True when replies and assignments are made in the key's name (the server fills in agent_name). */
export function actsAsKeyHolder(who = current) {
  return Boolean(who) && who.credential === 'key' && typeof who.name === 'string' && who.name !== '';
}

/** "alice (agent)". */
export function describe(who = current) {
  if (!who) return '';
  return `${who.name || 'unknown'} (${who.role || 'no role'})`;
}

/** Asks the server who `token` is (the stored key when undefined); a 401 is thrown, not prompted for. */
export async function whoami(token) {
  const { data } = await api('/api/whoami', { token, prompt: false });
  if (!data || typeof data !== 'object' || !RANK[data.role]) throw new Error('the server answered /api/whoami without a role');
  return {
    name: typeof data.name === 'string' ? data.name : '',
    role: data.role,
    credential: typeof data.credential === 'string' ? data.credential : (token ? 'key' : 'none'),
    auth_required: Boolean(data.auth_required),
  };
}

/** The sentence a page shows where a control is left out: "Replying needs the agent role; reader has read." */
export function needsRole(what, role, who = current) {
  return `${what} needs the ${role} role; ${who ? `${who.name || 'this key'} has ${who.role}` : 'you are not signed in'}.`;
}

// Signing in and out is the app's business (it owns the pages and the event stream); pages such as Settings
// reach it through these two calls.
let session = { signIn: async () => {}, signOut: () => {} };
export function registerSession(hooks) {
  session = hooks;
}

/** Starts using `key`, already checked: `who` is its /api/whoami answer. */
export function signIn(key, who) {
  return session.signIn(key, who);
}

/** Forgets the key and asks the server again who this browser is. */
export function signOut() {
  return session.signOut();
}
