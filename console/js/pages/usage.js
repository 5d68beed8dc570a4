// Usage: cost and tokens by model, provider, key, team, project and source
// over a chosen window.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { bars, PALETTE } from '../chart.js';
import { num, usd, ms } from '../format.js';
import { errorBox } from './common.js';

const WINDOWS = ['1h', '24h', '7d', '30d'];
const DIMENSIONS = ['model', 'provider', 'key', 'team', 'project', 'source'];

export function render(el, { query }) {
  const win = WINDOWS.includes(query.get('window')) ? query.get('window') : '24h';
  const select = h('select', { id: 'usage-window', onchange: () => { location.hash = '#/usage?window=' + select.value; } },
    WINDOWS.map((w) => h('option', { value: w, selected: w === win }, t('window.' + w))));
  const body = h('div', { id: 'usage-body' }, h('p', { class: 'muted' }, t('common.loading')));
  replace(el,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.usage')),
      h('label', { class: 'inline' }, h('span', {}, t('usage.window')), select)),
    body);
  api('/admin/stats?window=' + win)
    .then((s) => replace(body, view(s)))
    .catch((e) => replace(body, errorBox(e)));
}

function total(label, value) {
  return h('div', { class: 'counter' }, h('span', { class: 'counter-label' }, label), h('b', { class: 'counter-value' }, value));
}

function view(s) {
  const tt = s.totals || {};
  return h('div', {},
    h('div', { class: 'counters', id: 'usage-totals' },
      total(t('dash.requests'), num(tt.requests)),
      total(t('dash.errors'), num(tt.errors)),
      total(t('detail.input_tokens'), num(tt.input_tokens)),
      total(t('detail.output_tokens'), num(tt.output_tokens)),
      total(t('dash.cost'), usd(tt.cost_usd || 0)),
      total(t('usage.p95'), ms(tt.p95_duration_ms))),
    h('div', { class: 'grid two' }, DIMENSIONS.map((d) => section(d, s['by_' + d]))));
}

function section(dim, groups) {
  const card = h('section', { class: 'card', id: 'usage-' + dim }, h('h2', {}, t('usage.by_' + dim)));
  if (groups === undefined) { card.append(h('p', { class: 'notice warn unavailable' }, t('common.unavailable'))); return card; }
  if (!groups.length) { card.append(h('p', { class: 'muted' }, t('common.no_data'))); return card; }
  const label = (g) => (g.key === null || g.key === undefined ? t('common.none') : String(g.key));
  const top = groups.slice(0, 10);
  card.append(
    h('div', { class: 'grid two tight' },
      h('div', {}, h('h3', {}, t('col.cost')), bars(top.map((g) => ({ label: label(g), value: g.cost_usd || 0 })), usd)),
      h('div', {}, h('h3', {}, t('dash.tokens')), bars(top.map((g) => ({ label: label(g), value: (g.input_tokens || 0) + (g.output_tokens || 0) })), (v) => num(v), PALETTE[2]))),
    h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('col.' + dim), t('dash.requests'), t('dash.errors'), t('detail.input_tokens'), t('detail.output_tokens'), t('col.cost'), t('usage.avg_duration')].map((c) => h('th', {}, c)))),
      h('tbody', {}, groups.map((g) => h('tr', {},
        h('td', {}, label(g)), h('td', { class: 'num' }, num(g.requests)), h('td', { class: 'num' }, num(g.errors)),
        h('td', { class: 'num' }, num(g.input_tokens)), h('td', { class: 'num' }, num(g.output_tokens)),
        h('td', { class: 'num' }, usd(g.cost_usd || 0)), h('td', { class: 'num' }, ms(g.avg_duration_ms)))))));
  return card;
}
