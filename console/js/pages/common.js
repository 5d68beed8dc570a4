// Pieces several pages share.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { num, usd, ms, time, tokens } from '../format.js';

/** A clear message for a failed call: missing endpoint, refusal, or error. */
export function errorBox(e) {
  if (e && e.missing) return h('div', { class: 'notice warn unavailable' }, t('common.unavailable'));
  if (e && e.status === 503) return h('div', { class: 'notice warn' }, t('common.journal_off'), ' ', h('span', { class: 'muted' }, e.message));
  return h('div', { class: 'notice bad' }, t('common.error'), ' ', h('span', {}, e && e.message ? e.message : String(e)));
}

/** A status pill for a record. */
export function statusPill(r) {
  const failed = (r.status && r.status >= 400) || r.error_type;
  const text = r.status ? String(r.status) : '…';
  return h('span', { class: 'pill ' + (failed ? 'bad' : r.attempts > 1 ? 'warn' : 'ok'), title: r.error_type || r.outcome || '' }, text);
}


/** The columns of a record table, in order. */
const COLUMNS = ['time', 'status', 'model', 'provider', 'project', 'source', 'tags', 'tokens', 'cost', 'duration'];

export function recordTableHead() {
  return h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', {}, t('col.' + c)))));
}

/** One row; clicking it opens the record. */
export function recordRow(r) {
  const open = () => { location.hash = '#/requests/' + encodeURIComponent(r.id); };
  return h('tr', { class: 'rec', dataset: { id: r.id }, tabindex: 0, onclick: open, onkeydown: (e) => { if (e.key === 'Enter') open(); } },
    h('td', { class: 'mono' }, time(r.time || r.ts_ms)),
    h('td', {}, statusPill(r), r.attempts > 1 ? h('span', { class: 'muted small' }, ' ×' + r.attempts) : null),
    h('td', {}, r.requested_model || r.model || '—', r.model && r.requested_model && r.model !== r.requested_model ? h('span', { class: 'muted small' }, ' → ' + r.model) : null),
    h('td', {}, r.provider || '—'),
    h('td', {}, r.project || '—'),
    h('td', {}, r.source || '—'),
    h('td', {}, (r.tags || []).map((x) => h('span', { class: 'tag' }, x))),
    h('td', { class: 'num' }, num(tokens(r.usage))),
    h('td', { class: 'num' }, usd(r.cost_usd)),
    h('td', { class: 'num' }, ms(r.duration_ms)));
}

export const FILTERS = ['model', 'provider', 'project', 'source', 'status', 'tag'];

/** Whether a record passes the filters (the same rules as the records API). */
export function matches(r, f) {
  if (f.model && r.model !== f.model && r.requested_model !== f.model) return false;
  if (f.provider && r.provider !== f.provider) return false;
  if (f.project && r.project !== f.project) return false;
  if (f.source && r.source !== f.source) return false;
  if (f.tag && !(r.tags || []).includes(f.tag)) return false;
  if (f.status === 'error' && !((r.status && r.status >= 400) || r.error_type)) return false;
  if (f.status === '200' && r.status !== 200) return false;
  if (f.status === '4xx' && !(r.status >= 400 && r.status < 500)) return false;
  return true;
}
