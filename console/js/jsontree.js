// A collapsible JSON tree (details/summary) with a copy button. Every key and
// value is set as text.
import { h } from './dom.js';
import { t } from './i18n.js';

const OPEN_DEPTH = 4;

function leaf(v) {
  if (v === null) return h('span', { class: 'j-null' }, 'null');
  switch (typeof v) {
    case 'string': return h('span', { class: 'j-str' }, JSON.stringify(v));
    case 'number': return h('span', { class: 'j-num' }, String(v));
    case 'boolean': return h('span', { class: 'j-bool' }, String(v));
    default: return h('span', {}, String(v));
  }
}

function node(key, v, depth) {
  const label = key === null ? null : h('span', { class: 'j-key' }, JSON.stringify(key), ': ');
  if (v === null || typeof v !== 'object') return h('div', { class: 'j-row' }, label, leaf(v));
  const arr = Array.isArray(v);
  const entries = arr ? v.map((x, i) => [i, x]) : Object.entries(v);
  const summary = h('summary', {}, label, arr ? `[${entries.length}]` : `{${entries.length}}`);
  const d = h('details', { class: 'j-node' }, summary,
    h('div', { class: 'j-children' }, entries.map(([k, x]) => node(arr ? null : k, x, depth + 1))));
  if (depth < OPEN_DEPTH) d.open = true;
  return d;
}

/** A tree of `value`, with a button that copies it as pretty JSON. */
export function jsonTree(value, title) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  const copy = h('button', { type: 'button', class: 'ghost small copy' }, t('common.copy'));
  copy.addEventListener('click', async () => {
    await copyText(text);
    copy.textContent = t('common.copied');
    setTimeout(() => { copy.textContent = t('common.copy'); }, 1500);
  });
  const body = typeof value === 'string'
    ? h('pre', { class: 'j-raw' }, value)
    : node(null, value, 0);
  return h('section', { class: 'json' }, h('div', { class: 'json-head' }, h('h3', {}, title), copy), h('div', { class: 'json-body' }, body));
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h('textarea', { class: 'offscreen' });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}
