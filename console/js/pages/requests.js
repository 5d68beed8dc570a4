// Requests: the journal, newest first, with filters; finished exchanges
// from the live feed join at the top as they happen.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import * as live from '../live.js';
import { errorBox, recordRow, recordTableHead, FILTERS, matches } from './common.js';

const MAX_ROWS = 1000;

export function render(el, { query }) {
  const f = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || '']));
  const input = (k) => h('label', {}, h('span', {}, t('col.' + k)),
    h('input', { name: k, value: f[k], placeholder: t('filter.any'), autocomplete: 'off' }));
  const status = h('label', {}, h('span', {}, t('col.status')),
    h('select', { name: 'status' }, ['', '200', '4xx', 'error'].map((s) =>
      h('option', { value: s, selected: f.status === s }, s ? t('filter.status_' + s) : t('filter.any')))));
  const form = h('form', { class: 'filters', id: 'filters' },
    FILTERS.filter((k) => k !== 'status').map(input), status,
    h('button', { type: 'submit' }, t('filter.apply')),
    h('button', { type: 'button', class: 'ghost', onclick: () => { location.hash = '#/requests'; } }, t('filter.clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const k of FILTERS) { const v = form.elements[k].value.trim(); if (v) q.set(k, v); }
    location.hash = '#/requests' + (q.toString() ? '?' + q : '');
  });
  const tbody = h('tbody', { id: 'records' });
  const info = h('p', { class: 'muted', id: 'records-info' }, t('common.loading'));
  const more = h('button', { type: 'button', class: 'ghost', hidden: true }, t('requests.more'));
  replace(el,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.requests')), h('p', { class: 'muted' }, t('requests.help'))),
    form, info,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table records' }, recordTableHead(), tbody)),
    more);

  const seen = new Set();
  const add = (r, top) => {
    if (seen.has(r.id) || !matches(r, f)) return;
    seen.add(r.id);
    const row = recordRow(r);
    if (top) {
      row.classList.add('fresh');
      tbody.prepend(row);
      // A long-open page keeps the newest rows only.
      while (tbody.children.length > MAX_ROWS) tbody.lastElementChild.remove();
    } else tbody.append(row);
    const empty = tbody.querySelector('.empty');
    if (empty) empty.remove();
  };
  let next = null;
  const load = async () => {
    const q = new URLSearchParams({ limit: '100' });
    for (const k of ['model', 'provider', 'project', 'source', 'status']) if (f[k]) q.set(k, f[k]);
    if (next) q.set('before', next);
    try {
      const page = await api('/admin/records?' + q);
      page.records.forEach((r) => add(r, false));
      next = page.next;
      more.hidden = !next;
      info.textContent = t('requests.live_hint');
      if (!tbody.children.length) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 10 }, t('requests.empty'))));
    } catch (e) { replace(info, errorBox(e)); }
  };
  more.addEventListener('click', load);
  // Records that finished while the page was closed are in the journal; the
  // feed adds those finishing from now on.
  const unsub = live.subscribe((kind, data) => { if (kind === 'complete') add(data, true); });
  load();
  return unsub;
}
