// Dashboard: live charts from the feed, provider health and circuits, cost today.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { lineChart, bars, PALETTE } from '../chart.js';
import { num, usd, ms } from '../format.js';
import * as live from '../live.js';
import { errorBox } from './common.js';

function card(id, title, ...body) {
  return h('section', { class: 'card', id }, h('h2', {}, title), ...body);
}

function counter(id, label) {
  return h('div', { class: 'counter' }, h('span', { class: 'counter-label' }, label), h('b', { id, class: 'counter-value' }, '0'));
}

export function render(el) {
  const charts = {};
  const chartBox = (key) => h('div', { class: 'chart', id: 'chart-' + key });
  replace(el,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.dashboard')), h('p', { class: 'muted' }, t('dash.since_open'))),
    h('div', { class: 'counters' },
      counter('count-requests', t('dash.requests')),
      counter('count-inflight', t('dash.in_flight')),
      counter('count-tokens', t('dash.tokens')),
      counter('count-errors', t('dash.errors')),
      counter('count-cost', t('dash.cost'))),
    h('div', { class: 'grid charts' },
      card('card-rps', t('dash.rps'), chartBox('rps')),
      card('card-tps', t('dash.tps'), chartBox('tps')),
      card('card-errors', t('dash.errors_per_s'), chartBox('errors')),
      card('card-latency', t('dash.latency'), chartBox('latency')),
      card('card-ttft', t('dash.ttft'), chartBox('ttft'))),
    h('div', { class: 'grid two' },
      card('card-health', t('dash.health'), h('div', { id: 'health' }, t('common.loading'))),
      card('card-cost', t('dash.cost_today'), h('div', { id: 'cost-today' }, t('common.loading')))));
  const fmt1 = (v) => num(v, 1);
  charts.rps = lineChart(el.querySelector('#chart-rps'), { format: fmt1 });
  charts.tps = lineChart(el.querySelector('#chart-tps'), { format: (v) => num(v) });
  charts.errors = lineChart(el.querySelector('#chart-errors'), { format: fmt1 });
  charts.latency = lineChart(el.querySelector('#chart-latency'), { format: (v) => num(v, v < 10 ? 1 : 0), unit: ' ms' });
  charts.ttft = lineChart(el.querySelector('#chart-ttft'), { format: (v) => num(v, v < 10 ? 1 : 0), unit: ' ms' });

  const draw = () => {
    const s = live.series(120);
    charts.rps.update({ t: s.t, series: [{ label: t('dash.requests_s'), values: s.requests }] });
    charts.tps.update({ t: s.t, series: [{ label: t('dash.tokens_s'), values: s.tokens, color: PALETTE[2] }] });
    charts.errors.update({ t: s.t, series: [{ label: t('dash.errors_s'), values: s.errors, color: PALETTE[1] }] });
    charts.latency.update({ t: s.t, series: [
      { label: 'p50', values: s.p50 }, { label: 'p95', values: s.p95, color: PALETTE[3] }] });
    charts.ttft.update({ t: s.t, series: [{ label: t('dash.ttft_p50'), values: s.ttft, color: PALETTE[4] }] });
    const st = live.liveState();
    el.querySelector('#count-requests').textContent = num(st.totals.requests);
    el.querySelector('#count-inflight').textContent = num(st.inFlight.size);
    el.querySelector('#count-tokens').textContent = num(st.totals.tokens);
    el.querySelector('#count-errors').textContent = num(st.totals.errors);
    el.querySelector('#count-cost').textContent = usd(st.totals.cost);
  };
  draw();
  const tick = setInterval(draw, 1000);
  let pending = false;
  let costSoon = null;
  const unsub = live.subscribe((kind) => {
    // Today's cost follows finished requests, at most every 2 seconds.
    if (kind === 'complete' && !costSoon) costSoon = setTimeout(() => { costSoon = null; loadCost(); }, 2000);
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  });

  const loadHealth = async () => {
    const box = el.querySelector('#health');
    try {
      replace(box, healthTable(await api('/health')));
    } catch (e) { replace(box, errorBox(e)); }
  };
  const loadCost = async () => {
    const box = el.querySelector('#cost-today');
    const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
    try {
      const s = await api('/admin/stats?since=' + midnight.getTime());
      const row = (g) => ({ label: g.key === null ? t('common.none') : String(g.key), value: g.cost_usd || 0 });
      replace(box,
        h('p', { class: 'big' }, usd(s.totals.cost_usd || 0), ' ', h('span', { class: 'muted' }, t('dash.requests_n', { n: num(s.totals.requests) }))),
        h('h3', {}, t('usage.by_model')), s.by_model.length ? bars(s.by_model.slice(0, 8).map(row), usd) : h('p', { class: 'muted' }, t('common.no_data')),
        h('h3', {}, t('usage.by_project')), s.by_project.length ? bars(s.by_project.slice(0, 8).map(row), usd, PALETTE[4]) : h('p', { class: 'muted' }, t('common.no_data')));
    } catch (e) { replace(box, errorBox(e)); }
  };
  loadHealth(); loadCost();
  const slow = setInterval(() => { loadHealth(); loadCost(); }, 10000);
  return () => { clearInterval(tick); clearInterval(slow); clearTimeout(costSoon); unsub(); Object.values(charts).forEach((c) => c.destroy()); };
}

function healthTable(health) {
  const circuits = health.circuits || [];
  return h('div', {},
    h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', {}, t('col.provider')), h('th', {}, t('col.kind')), h('th', {}, t('col.health')), h('th', {}, t('col.models')))),
      h('tbody', {}, (health.providers || []).map((p) => h('tr', { dataset: { provider: p.id } },
        h('td', {}, p.id), h('td', {}, p.kind),
        h('td', {}, h('span', { class: 'pill ' + (p.healthy ? 'ok' : 'bad') }, t(p.healthy ? 'health.up' : 'health.down'))),
        h('td', { class: 'muted' }, (p.models || []).join(', ')))))),
    h('h3', {}, t('dash.circuits')),
    circuits.length
      ? h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('col.provider')), h('th', {}, t('col.model')), h('th', {}, t('col.state')), h('th', {}, t('col.failures')), h('th', {}, t('col.retry_in')))),
        h('tbody', {}, circuits.map((c) => h('tr', {},
          h('td', {}, c.provider), h('td', {}, c.model),
          h('td', {}, h('span', { class: 'pill ' + (c.state === 'closed' ? 'ok' : c.state === 'open' ? 'bad' : 'warn') }, t('circuit.' + c.state))),
          h('td', {}, num(c.consecutive_failures)),
          h('td', {}, c.retry_in_secs === null || c.retry_in_secs === undefined ? '—' : ms(c.retry_in_secs * 1000))))))
      : h('p', { class: 'muted' }, t('dash.no_circuits')));
}
