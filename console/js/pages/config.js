// Configuration: providers, routing rules, virtual models and keys, edited
// through the admin config API; validation errors appear next to the field.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { errorBox } from './common.js';
import { keysTab, routeTestTab } from './config-extra.js';

const TABS = ['providers', 'routes', 'models', 'keys', 'test'];
const KINDS = ['openai', 'azure', 'anthropic', 'gemini', 'vertex', 'ollama', 'openresponses', 'mock'];

/** The list inside an answer: a bare array, or the array under the first array-valued key. */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  if (data && typeof data === 'object') {
    const arr = Object.values(data).find(Array.isArray);
    if (arr) return arr;
    // A map of name -> object.
    return Object.entries(data).filter(([, v]) => v && typeof v === 'object').map(([k, v]) => Object.assign({ name: k }, v));
  }
  return [];
}

/** Shows a 422's message next to the field it names (`providers[2].base_url` → input `base_url`). */
export function showFieldError(form, e) {
  clearErrors(form);
  const field = e.field || '';
  // The field itself (`providers[2].base_url` → base_url), else the first
  // segment (`headers.x-a` → headers), else the JSON of the other fields.
  const segments = field.split('.').map((x) => x.replace(/\[\d+\]$/, '')).filter(Boolean);
  const named = (n) => (n ? form.querySelector(`[name="${CSS.escape(n)}"]`) : null);
  const input = named(segments[segments.length - 1]) || named(segments[0]) || form.querySelector('[name="json"]');
  const msg = h('p', { class: 'field-error', role: 'alert' }, field ? `${field}: ${e.message}` : e.message);
  if (input && e.field) {
    input.setAttribute('aria-invalid', 'true');
    const label = input.closest('label');
    if (label) label.append(msg); else input.after(msg);
  } else {
    form.querySelector('.form-status').replaceChildren(e.missing ? h('span', { class: 'field-error' }, t('common.unavailable')) : msg);
  }
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((x) => x.remove());
  form.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
  const st = form.querySelector('.form-status');
  if (st) st.replaceChildren();
}

export function render(el, { parts }) {
  const tab = TABS.includes(parts[1]) ? parts[1] : 'providers';
  const body = h('div', { class: 'tab-body', id: 'config-' + tab });
  replace(el,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.config')), h('p', { class: 'muted' }, t('config.help'))),
    h('nav', { class: 'tabs', 'aria-label': t('nav.config') }, TABS.map((x) =>
      h('a', { href: '#/config/' + x, class: x === tab ? 'active' : '', 'aria-current': x === tab ? 'page' : null, dataset: { tab: x } }, t('config.tab_' + x)))),
    body);
  if (tab === 'providers') entityTab(body, PROVIDERS);
  else if (tab === 'routes') entityTab(body, ROUTES);
  else if (tab === 'models') entityTab(body, MODELS);
  else if (tab === 'keys') keysTab(body);
  else routeTestTab(body);
}

/** A provider's secrets come back as {"set": true}; the form never shows them. */
const isSecret = (v) => v && typeof v === 'object' && !Array.isArray(v) && 'set' in v && Object.keys(v).length === 1;

const PROVIDERS = {
  path: '/admin/providers', listKey: 'providers', id: 'id', title: 'config.tab_providers',
  columns: [['id', (p) => p.id], ['kind', (p) => p.kind], ['base_url', (p) => p.base_url || '—'],
    ['models', (p) => (p.models || []).join(', ')], ['api_key', (p) => (isSecret(p.api_key) ? t(p.api_key.set ? 'config.secret_set' : 'config.secret_unset') : '—')]],
  fields(p) {
    return [
      field('id', h('input', { name: 'id', value: p.id || '', required: true, autocomplete: 'off' })),
      field('kind', h('select', { name: 'kind' }, KINDS.map((k) => h('option', { value: k, selected: (p.kind || 'openai') === k }, k)))),
      field('base_url', h('input', { name: 'base_url', value: p.base_url || '', placeholder: 'https://api.openai.com/v1', autocomplete: 'off' })),
      field('api_key', h('input', { name: 'api_key', type: 'password', autocomplete: 'new-password',
        placeholder: isSecret(p.api_key) && p.api_key.set ? t('config.secret_keep') : '' })),
      field('models', h('input', { name: 'models', value: (p.models || []).join(', '), placeholder: 'gpt-4o*, gpt-4o-mini' })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'discover', checked: p.discover !== false }), h('span', {}, t('config.f_discover'))),
      jsonField(rest(p, ['id', 'kind', 'base_url', 'api_key', 'models', 'discover'])),
    ];
  },
  read(form, orig) {
    const v = readJson(form);
    const out = Object.assign({}, v, {
      id: form.elements.id.value.trim(),
      kind: form.elements.kind.value,
      models: form.elements.models.value.split(',').map((s) => s.trim()).filter(Boolean),
    });
    const base = form.elements.base_url.value.trim();
    if (base) out.base_url = base;
    if (form.elements.kind.value === 'openai') out.discover = form.elements.discover.checked;
    const key = form.elements.api_key.value;
    if (key) out.api_key = key;
    else if (orig && isSecret(orig.api_key) && orig.api_key.set) out.api_key = orig.api_key;
    return out;
  },
};

function nameFields(label) {
  return (x) => [
    field('name', h('input', { name: 'name', value: x.name || '', required: true, autocomplete: 'off' }), label),
    jsonField(rest(x, ['name']), true),
  ];
}

function readNamed(form) {
  return Object.assign({ name: form.elements.name.value.trim() }, readJson(form));
}

const ROUTES = {
  path: '/admin/routes', listKey: 'routes', id: 'name', title: 'config.tab_routes',
  columns: [['name', (r) => r.name], ['conditions', (r) => summary(rest(r, ['name', 'to', 'strategy', 'profile']))], ['to', (r) => [].concat(r.to || r.discovered || []).map((x) => (typeof x === 'string' ? x : x.target)).join(', ')], ['strategy', (r) => r.strategy || '—']],
  fields: nameFields(), read: readNamed,
  sample: (target) => ({ name: '', model: 'coder', to: [target] }),
};

const MODELS = {
  path: '/admin/models', listKey: 'models', id: 'name', title: 'config.tab_models',
  columns: [['name', (m) => m.name], ['targets', (m) => (m.targets || []).map((x) => (typeof x === 'string' ? x : x.target)).join(', ')], ['strategy', (m) => m.strategy || '—'], ['description', (m) => m.description || '—']],
  fields: nameFields(), read: readNamed,
  sample: (target) => ({ name: '', targets: [target], strategy: 'first_available' }),
};

function summary(o) {
  return Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ') || '—';
}

function rest(o, skip) {
  return Object.fromEntries(Object.entries(o || {}).filter(([k]) => !skip.includes(k)));
}

export function field(name, input, label) {
  return h('label', { class: 'field' }, h('span', {}, label || t('config.f_' + name)), input);
}

function jsonField(value, main) {
  return field('json', h('textarea', { name: 'json', rows: main ? 10 : 4, spellcheck: 'false', class: 'mono' },
    Object.keys(value).length || main ? JSON.stringify(value, null, 2) : '{}'), t(main ? 'config.f_body' : 'config.f_extra'));
}

function readJson(form) {
  const raw = form.elements.json ? form.elements.json.value.trim() : '';
  if (!raw) return {};
  let v;
  try { v = JSON.parse(raw); } catch (err) {
    throw Object.assign(new Error(t('config.bad_json', { error: err.message })), { field: 'json', local: true });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw Object.assign(new Error(t('config.not_object')), { field: 'json', local: true });
  return v;
}

/** A `provider/model` of this gateway for a new rule's or virtual model's template. */
async function exampleTarget() {
  try {
    for (const p of listOf(await api('/admin/providers'), 'providers')) {
      const model = (p.models || []).find((m) => !/[*?[{]/.test(m));
      if (model) return `${p.id}/${model}`;
    }
  } catch { /* the template is only a hint */ }
  return 'provider/model';
}

function entityTab(el, kind) {
  const list = h('div', { class: 'entity-list' }, h('p', { class: 'muted' }, t('common.loading')));
  const editor = h('div', { class: 'editor' });
  const add = h('button', { type: 'button', id: 'add-' + kind.listKey, onclick: () => edit(null) }, t('config.add'));
  replace(el, h('div', { class: 'toolbar' }, add), editor, list);

  let items = [];
  const load = async () => {
    try {
      items = listOf(await api(kind.path), kind.listKey);
      replace(list, items.length ? table() : h('p', { class: 'muted' }, t('common.no_data')));
    } catch (e) {
      add.disabled = !!e.missing;
      replace(list, errorBox(e));
    }
  };
  const table = () => h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, kind.columns.map(([c]) => h('th', {}, t(c === 'models' ? 'col.models' : 'config.f_' + c))), h('th', {}, ''))),
    h('tbody', {}, items.map((x) => h('tr', { dataset: { item: x[kind.id] } },
      kind.columns.map(([, f]) => h('td', {}, String(f(x) ?? '—'))),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'ghost small', onclick: () => edit(x) }, t('config.edit')),
        h('button', { type: 'button', class: 'ghost small danger', onclick: () => remove(x) }, t('config.delete')))))));

  const remove = async (x) => {
    if (!confirm(t('config.confirm_delete', { name: x[kind.id] }))) return;
    try { await api(`${kind.path}/${encodeURIComponent(x[kind.id])}`, { method: 'DELETE' }); load(); } catch (e) { replace(list, errorBox(e), list.firstChild || ''); }
  };

  const edit = async (orig) => {
    const start = orig || (kind.sample ? kind.sample(await exampleTarget()) : {});
    const status = h('div', { class: 'form-status' });
    const form = h('form', { class: 'card form', id: 'editor-form', novalidate: true },
      h('h2', {}, t(orig ? 'config.editing' : 'config.adding', { name: orig ? orig[kind.id] : '' })),
      kind.fields(start), status,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', name: 'save' }, t('config.save')),
        h('button', { type: 'button', class: 'ghost', name: 'validate', onclick: () => submit(true) }, t('config.validate')),
        h('button', { type: 'button', class: 'ghost', onclick: () => editor.replaceChildren() }, t('config.cancel'))));
    const submit = async (dryRun) => {
      clearErrors(form);
      let body;
      try { body = kind.read(form, orig); } catch (e) { showFieldError(form, e); return; }
      const url = (orig ? `${kind.path}/${encodeURIComponent(orig[kind.id])}` : kind.path) + (dryRun ? '?dry_run=true' : '');
      try {
        await api(url, { method: orig ? 'PUT' : 'POST', body });
        if (dryRun) { status.replaceChildren(h('span', { class: 'ok-text' }, t('config.valid'))); return; }
        editor.replaceChildren(h('p', { class: 'notice ok', role: 'status' }, t('config.saved', { name: body[kind.id] })));
        load();
      } catch (e) { showFieldError(form, e); }
    };
    form.addEventListener('submit', (ev) => { ev.preventDefault(); submit(false); });
    editor.replaceChildren(form);
    form.querySelector('input, textarea')?.focus();
  };
  load();
}
