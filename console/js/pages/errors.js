// Errors: failed requests, and requests that succeeded only after failover.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import * as live from '../live.js';
import { errorBox, recordRow, recordTableHead } from './common.js';

export function render(el) {
  const failed = h('tbody', { id: 'failed' });
  const mitigated = h('tbody', { id: 'mitigated' });
  const table = (tbody) => h('div', { class: 'table-wrap' }, h('table', { class: 'table records' }, recordTableHead(), tbody));
  const failedInfo = h('div', {}), mitigatedInfo = h('div', {});
  replace(el,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.errors')), h('p', { class: 'muted' }, t('errors.help'))),
    h('section', { class: 'card' }, h('h2', {}, t('errors.failed')), failedInfo, table(failed)),
    h('section', { class: 'card' }, h('h2', {}, t('errors.mitigated')), h('p', { class: 'muted' }, t('errors.mitigated_help')), mitigatedInfo, table(mitigated)));
  const seen = new Set();
  const place = (r, top) => {
    if (seen.has(r.id)) return;
    const isFailed = (r.status && r.status >= 400) || r.error_type;
    const isMitigated = !isFailed && r.attempts > 1;
    if (!isFailed && !isMitigated) return;
    seen.add(r.id);
    const body = isFailed ? failed : mitigated;
    const row = recordRow(r);
    if (top) { row.classList.add('fresh'); body.prepend(row); } else body.append(row);
    body.querySelector('.empty')?.remove();
  };
  const empty = (body) => { if (!body.children.length) body.append(h('tr', { class: 'empty' }, h('td', { colspan: 10 }, t('errors.none')))); };
  api('/admin/records?status=error&limit=200')
    .then((p) => { p.records.forEach((r) => place(r, false)); empty(failed); })
    .catch((e) => replace(failedInfo, errorBox(e)));
  // The records API has no attempts filter: scan the latest records.
  api('/admin/records?limit=1000')
    .then((p) => { p.records.forEach((r) => place(r, false)); empty(mitigated); })
    .catch((e) => replace(mitigatedInfo, errorBox(e)));
  return live.subscribe((kind, data) => { if (kind === 'complete') place(data, true); });
}
