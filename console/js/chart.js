// Small charts without a library: a time-series line chart on a canvas and
// horizontal bars built from DOM elements.
import { h } from './dom.js';

export const PALETTE = ['#1f6feb', '#e5534b', '#2da44e', '#bf8700', '#8250df', '#1b7c83', '#cf222e', '#6e7781'];

/**
 * A line chart: `el` gets a canvas; update({t: [...], series: [{label, values, color}]}).
 * Values may be null (a gap). The y axis starts at 0.
 */
export function lineChart(el, { unit = '', format = (v) => String(v) } = {}) {
  const canvas = h('canvas', { class: 'chart-canvas', role: 'img' });
  const legend = h('div', { class: 'legend' });
  el.replaceChildren(canvas, legend);
  let last = null;
  const draw = (data) => {
    last = data;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 300;
    const hgt = canvas.clientHeight || 140;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const styles = getComputedStyle(document.documentElement);
    const grid = styles.getPropertyValue('--grid').trim() || '#ddd';
    const text = styles.getPropertyValue('--muted').trim() || '#666';
    const left = 44, right = 8, top = 8, bottom = 18;
    const pw = w - left - right, ph = hgt - top - bottom;
    let max = 0;
    for (const s of data.series) for (const v of s.values) if (v !== null && v > max) max = v;
    max = niceMax(max);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = text; ctx.strokeStyle = grid; ctx.lineWidth = 1;
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = top + ph - (ph * i) / 4;
      ctx.beginPath(); ctx.moveTo(left, Math.round(y) + 0.5); ctx.lineTo(w - right, Math.round(y) + 0.5); ctx.stroke();
      ctx.fillText(tick((max * i) / 4, max) + unit, left - 4, y);
    }
    const n = data.t.length;
    if (n > 1) {
      ctx.textAlign = 'center'; ctx.textBaseline = 'top';
      for (const i of [0, Math.floor(n / 2), n - 1]) {
        const d = new Date(data.t[i] * 1000);
        const label = d.toTimeString().slice(0, 8);
        ctx.fillText(label, Math.min(Math.max(left + (pw * i) / (n - 1), left + 24), w - right - 24), top + ph + 4);
      }
    }
    data.series.forEach((s, si) => {
      ctx.strokeStyle = s.color || PALETTE[si % PALETTE.length];
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = false; return; }
        const x = left + (n > 1 ? (pw * i) / (n - 1) : pw);
        const y = top + ph - (max ? (ph * v) / max : 0);
        if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
    });
    legend.replaceChildren(...data.series.map((s, si) => {
      const vals = s.values.filter((v) => v !== null && v !== undefined);
      const cur = vals.length ? vals[vals.length - 1] : null;
      return h('span', { class: 'legend-item' },
        h('i', { style: { background: s.color || PALETTE[si % PALETTE.length] } }),
        s.label, ' ', h('b', {}, cur === null ? '—' : format(cur) + unit));
    }));
    canvas.setAttribute('aria-label', data.series.map((s) => s.label).join(', '));
    // The first series' sum, for tests and tools that cannot read pixels.
    canvas.dataset.total = String((data.series[0] ? data.series[0].values : []).reduce((a, v) => a + (v || 0), 0));
  };
  const ro = new ResizeObserver(() => { if (last) draw(last); });
  ro.observe(canvas);
  return { update: draw, destroy: () => ro.disconnect() };
}

/** An axis label with as many decimals as the step between labels needs. */
function tick(v, max) {
  const digits = Math.max(0, -Math.floor(Math.log10(max / 4) + 1e-9));
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(v);
}

/** The top of the axis: four steps of 1, 2 or 5 times a power of ten. */
function niceMax(v) {
  if (v <= 0) return 4;
  const raw = v / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return 4 * m * p;
  return 40 * p;
}

/** Horizontal bars: rows [{label, value}], labelled with format(value). */
export function bars(rows, format, color = PALETTE[0]) {
  const max = Math.max(0, ...rows.map((r) => r.value || 0)) || 1;
  return h('div', { class: 'bars' }, rows.map((r) =>
    h('div', { class: 'bar-row' },
      h('span', { class: 'bar-label', title: r.label }, r.label),
      h('span', { class: 'bar-track' },
        h('span', { class: 'bar', style: { width: `${Math.max(0.5, (100 * (r.value || 0)) / max)}%`, background: color } })),
      h('span', { class: 'bar-value' }, format(r.value || 0)))));
}
