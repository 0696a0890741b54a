// A score's breakdown in words. Rule profiles shape it differently (the default
// profile has intents and concepts, the seed profile tiers and keywords), so
// known keys get sentences and anything else is listed as key/value text.
import { h, formatUrgency, urgencyBadge } from './dom.js';

function isEmpty(v) {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

function signed(n) {
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  const s = Math.abs(x).toFixed(2).replace(/0$/, '');
  return `${x < 0 ? '−' : '+'}${s}`;
}

function humanKey(key) {
  return String(key).replace(/_/g, ' ');
}

function termKey(key) {
  const s = humanKey(key);
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Any JSON value as readable text nodes (nested lists for arrays and objects). */
export function genericValue(value, depth = 0) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, 'none');
  if (typeof value === 'boolean') return h('span', null, value ? 'yes' : 'no');
  if (typeof value === 'number') return h('span', { class: 'num' }, String(value));
  if (typeof value === 'string') return h('span', null, value);
  if (depth > 5) return h('code', null, JSON.stringify(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return h('span', { class: 'muted' }, 'none');
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return h('span', null, value.map((v) => (v === null ? 'none' : String(v))).join(', '));
    }
    return h('ul', { class: 'plain' }, value.map((v) => h('li', null, genericValue(v, depth + 1))));
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return h('span', { class: 'muted' }, 'none');
  return h('dl', { class: 'kv' }, entries.map(([k, v]) => [h('dt', null, humanKey(k)), h('dd', null, genericValue(v, depth + 1))]));
}

function quoted(words) {
  return h('q', null, String(words));
}

function conceptList(concepts) {
  if (Array.isArray(concepts)) return h('span', null, concepts.map(String).join(', '));
  return h('ul', { class: 'inline-list' }, Object.entries(concepts).map(([name, words]) =>
    h('li', null, h('span', { class: 'concept' }, humanKey(name)), ' ', Array.isArray(words) ? words.map((w) => [quoted(w), ' ']) : quoted(words))));
}

function setAsideList(items) {
  if (Array.isArray(items)) return h('ul', { class: 'plain' }, items.map((v) => h('li', null, genericValue(v, 1))));
  return h('ul', { class: 'plain' }, Object.entries(items).map(([name, why]) =>
    h('li', null, h('span', { class: 'concept' }, humanKey(name)), ' — ', typeof why === 'string' ? why : genericValue(why, 1))));
}

function modifierList(mods) {
  if (!Array.isArray(mods)) return genericValue(mods, 1);
  return h('ul', { class: 'plain modifiers' }, mods.map((m) => {
    if (m && typeof m === 'object' && 'name' in m) {
      const rest = Object.entries(m).filter(([k]) => k !== 'name' && k !== 'add');
      return h('li', null,
        'add' in m ? h('span', { class: `delta ${Number(m.add) < 0 ? 'down' : 'up'}` }, signed(m.add)) : null, ' ',
        String(m.name),
        rest.length ? [' (', rest.map(([k, v], i) => [i ? ', ' : '', `${humanKey(k)}: `, typeof v === 'object' ? JSON.stringify(v) : String(v)]), ')'] : null);
    }
    return h('li', null, genericValue(m, 1));
  }));
}

function llmText(llm) {
  if (!llm || typeof llm !== 'object') return genericValue(llm, 1);
  const parts = [];
  if (llm.state === 'pending') {
    parts.push('pending: the model is asked in the background; the keyword score stands until it answers');
  } else if (llm.used) {
    parts.push(`used: the model said ${llm.score ?? '?'}`);
    if (llm.reply !== undefined && llm.reply !== null && String(llm.reply) !== String(llm.score)) parts.push(`reply “${llm.reply}”`);
  } else {
    parts.push(`not used${llm.skipped ? `: ${llm.skipped}` : ''}`);
    if (llm.reply) parts.push(`reply “${llm.reply}”`);
  }
  if (llm.latency_ms !== undefined) parts.push(`${llm.latency_ms} ms`);
  if (llm.cached) parts.push('cached');
  if (llm.attempts) parts.push(`${llm.attempts} attempt${llm.attempts === 1 ? '' : 's'}`);
  if (llm.http_status) parts.push(`HTTP ${llm.http_status}`);
  const known = new Set(['state', 'used', 'score', 'skipped', 'reply', 'latency_ms', 'cached', 'attempts', 'http_status', 'finish_reason']);
  for (const [k, v] of Object.entries(llm)) {
    if (!known.has(k) && v !== null && v !== undefined) parts.push(`${humanKey(k)}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  }
  return h('span', null, parts.join('; '));
}

/** A one-line summary: the intent or tier (for lists of changes). */
export function breakdownSummary(b) {
  if (!b || typeof b !== 'object') return '';
  if (b.fallback) return 'fallback (the rules failed)';
  if (b.intent && typeof b.intent === 'object') return `${b.intent.name} (${b.intent.level})`;
  if (b.tier && typeof b.tier === 'object') return `tier ${b.tier.name}${b.tier.keyword ? ` “${b.tier.keyword}”` : ''}`;
  if (typeof b.tier === 'string') return `tier ${b.tier}`;
  return 'no intent (default level)';
}

/**
 * The breakdown as a definition list. `urgency` and `version` (from the message) are shown when given.
 */
export function renderBreakdown(b, { urgency, version } = {}) {
  const rows = [];
  const add = (term, value, cls) => rows.push(h('div', { class: `bd-row${cls ? ` ${cls}` : ''}` }, h('dt', null, term), h('dd', null, value)));
  if (!b || typeof b !== 'object' || Array.isArray(b)) {
    if (urgency !== undefined) add('Urgency', urgencyBadge(urgency));
    add('Breakdown', b === null || b === undefined ? h('span', { class: 'muted' }, 'none recorded') : genericValue(b));
    if (version) add('Rules version', h('code', null, version));
    return h('dl', { class: 'breakdown' }, rows);
  }
  const seen = new Set();
  const take = (k) => { seen.add(k); return b[k]; };

  const finalScore = urgency !== undefined ? urgency : b.urgency;
  seen.add('urgency');
  if (finalScore !== undefined) add('Urgency', urgencyBadge(finalScore));

  if (b.fallback) {
    take('fallback');
    add('Fallback', h('span', { class: 'warn' }, 'The rules failed on this message; it got the fallback score.'), 'bad');
  }
  if ('error' in b) add('Error', h('span', { class: 'error-text' }, String(take('error'))), 'bad');

  if ('intent' in b) {
    const intent = take('intent');
    if (intent && typeof intent === 'object') {
      add('Intent', [h('strong', null, String(intent.name ?? '?')), intent.level !== undefined ? ` — level ${intent.level}` : '']);
    } else add('Intent', genericValue(intent));
  } else if ('concepts' in b && !('tier' in b)) {
    add('Intent', h('span', { class: 'muted' }, 'none matched: the default level'));
  }
  if ('tier' in b) {
    const tier = take('tier');
    if (tier && typeof tier === 'object') {
      add('Tier', [h('strong', null, String(tier.name ?? '?')),
        tier.score !== undefined ? ` — score ${tier.score}` : '',
        tier.keyword !== undefined ? [', keyword ', quoted(tier.keyword)] : '']);
    } else add('Tier', genericValue(tier));
  }
  if ('concepts' in b) {
    const concepts = take('concepts');
    add('Concepts', isEmpty(concepts) ? h('span', { class: 'muted' }, 'none stated') : conceptList(concepts));
  }
  if ('set_aside' in b) {
    const aside = take('set_aside');
    if (!isEmpty(aside)) add('Set aside', setAsideList(aside));
  }
  if ('modifiers' in b) {
    const mods = take('modifiers');
    add('Modifiers', isEmpty(mods) ? h('span', { class: 'muted' }, 'none') : modifierList(mods));
  }
  if ('capped' in b) {
    const capped = take('capped');
    if (capped) add('Capped', 'yes: the score was held at the cap');
  }
  if ('keyword_score' in b) add('Keyword score', formatUrgency(take('keyword_score')));
  if ('llm' in b) add('LLM', llmText(take('llm')));

  seen.add('fired');
  seen.add('evaluation_us');
  seen.add('rules_version');
  for (const [k, v] of Object.entries(b)) {
    if (seen.has(k)) continue;
    add(termKey(k), genericValue(v));
  }
  const ver = version || b.rules_version;
  if (ver) add('Rules version', h('code', null, String(ver)));
  if (b.evaluation_us !== undefined) add('Evaluated in', `${b.evaluation_us} µs`);
  const list = h('dl', { class: 'breakdown' }, rows);
  if (Array.isArray(b.fired) && b.fired.length) {
    return h('div', { class: 'breakdown-wrap' }, list,
      h('details', { class: 'fired' }, h('summary', null, `Everything that fired (${b.fired.length})`),
        h('ul', { class: 'plain' }, b.fired.map((f) => h('li', null, String(f))))));
  }
  return list;
}
