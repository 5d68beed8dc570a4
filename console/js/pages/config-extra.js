// Configuration tabs that are not plain lists: virtual keys (the plaintext is
// shown once) and the "test this route" box.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { jsonTree, copyText } from '../jsontree.js';
import { errorBox } from './common.js';
import { listOf, showFieldError, clearErrors, field } from './config.js';

const ENDPOINTS = ['/v1/chat/completions', '/v1/messages', '/v1/responses', '/v1/completions', '/v1/embeddings'];

const SAMPLES = {
  '/v1/chat/completions': { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write a haiku about trains' }] },
  '/v1/messages': { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'Write a haiku about trains' }] },
  '/v1/responses': { model: 'gpt-4o-mini', input: 'Write a haiku about trains' },
  '/v1/completions': { model: 'gpt-4o-mini', prompt: 'Write a haiku about trains' },
  '/v1/embeddings': { model: 'text-embedding-3-small', input: 'trains' },
};

const masked = (k) => k.masked || '—';
const list = (v) => (Array.isArray(v) ? v.join(', ') : v) || '—';

export function keysTab(el) {
  const listBox = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  const secret = h('div', { id: 'key-secret' });
  const num = (name) => h('input', { name, type: 'number', min: 0, step: 'any' });
  const text = (name, extra) => h('input', Object.assign({ name, autocomplete: 'off' }, extra || {}));
  const form = h('form', { class: 'card form', id: 'key-form', novalidate: true },
    h('h2', {}, t('keys.create')),
    h('div', { class: 'grid three tight' },
      field('id', text('id', { placeholder: t('keys.id_auto') }), t('keys.id')),
      field('label', text('label'), t('keys.label')),
      field('team', text('team'), t('keys.team')),
      field('project', text('project'), t('keys.project')),
      field('models', text('models', { placeholder: 'gpt-4o*, coder' }), t('keys.allowed_models')),
      field('rpm', num('rpm'), t('keys.rpm')),
      field('tpm', num('tpm'), t('keys.tpm')),
      field('budget_daily_usd', num('budget_daily_usd'), t('keys.budget_daily')),
      field('budget_monthly_usd', num('budget_monthly_usd'), t('keys.budget_monthly'))),
    h('div', { class: 'form-status' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('keys.create'))));
  replace(el, secret, form, listBox);

  const showSecret = (data, title) => {
    const plain = findSecret(data);
    if (!plain) { replace(secret); return; }
    replace(secret, h('div', { class: 'notice ok secret' },
      h('p', {}, h('b', {}, title), ' ', t('keys.once')),
      h('code', { class: 'mono', id: 'key-plaintext' }, plain), ' ',
      h('button', { type: 'button', class: 'ghost small', onclick: () => copyText(plain) }, t('common.copy')),
      data.warning ? h('p', { class: 'small', id: 'key-warning' }, String(data.warning)) : null));
  };
  const load = async () => {
    try {
      const answer = await api('/admin/keys');
      const keys = listOf(answer, 'keys');
      const mode = answer && answer.mode ? h('p', { class: 'muted', id: 'key-mode' },
        t('keys.mode', { mode: answer.mode }), ' · ', t(answer.persistent ? 'keys.persistent' : 'keys.not_persistent')) : null;
      replace(listBox, mode, keys.length ? h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ['keys.id', 'keys.label', 'keys.team', 'keys.project', 'keys.key', 'keys.allowed_models', ''].map((k) => h('th', {}, k ? t(k) : '')))),
        h('tbody', {}, keys.map((k) => h('tr', { dataset: { key: k.id } },
          h('td', { class: 'mono' }, k.id || '—'), h('td', {}, k.label || '—'), h('td', {}, k.team || '—'), h('td', {}, k.project || '—'),
          h('td', { class: 'mono' }, masked(k)), h('td', {}, list(k.models)),
          h('td', { class: 'actions' },
            h('button', { type: 'button', name: 'rotate', class: 'ghost small', onclick: () => rotate(k) }, t('keys.rotate')),
            h('button', { type: 'button', name: 'delete', class: 'ghost small danger', onclick: () => remove(k) }, t('config.delete')))))))
        : h('p', { class: 'muted' }, t('common.no_data')));
      form.hidden = false;
    } catch (e) {
      if (e.missing) form.hidden = true;
      replace(listBox, errorBox(e));
    }
  };
  const rotate = async (k) => {
    try { showSecret(await api(`/admin/keys/${encodeURIComponent(k.id)}/rotate`, { method: 'POST' }), t('keys.rotated')); load(); } catch (e) { replace(secret, errorBox(e)); }
  };
  const remove = async (k) => {
    if (!confirm(t('config.confirm_delete', { name: k.label || k.id }))) return;
    try { await api(`/admin/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }); load(); } catch (e) { replace(secret, errorBox(e)); }
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const v = (n) => form.elements[n].value.trim();
    const n = (x) => (v(x) === '' ? undefined : Number(v(x)));
    const body = {};
    for (const x of ['id', 'label', 'team', 'project']) if (v(x)) body[x] = v(x);
    const models = v('models').split(',').map((s) => s.trim()).filter(Boolean);
    if (models.length) body.models = models;
    for (const x of ['rpm', 'tpm', 'budget_daily_usd', 'budget_monthly_usd']) if (n(x) !== undefined) body[x] = n(x);
    try {
      showSecret(await api('/admin/keys', { method: 'POST', body }), t('keys.created'));
      form.reset();
      load();
    } catch (e) { showFieldError(form, e); }
  });
  load();
}

/** The plaintext key in a create or rotate answer. */
function findSecret(data) {
  if (!data || typeof data !== 'object') return null;
  for (const k of ['key', 'plaintext', 'secret', 'api_key', 'token']) if (typeof data[k] === 'string') return data[k];
  for (const v of Object.values(data)) { const s = v && typeof v === 'object' ? findSecret(v) : null; if (s) return s; }
  return null;
}

export function routeTestTab(el) {
  const endpoint = h('select', { name: 'endpoint' }, ENDPOINTS.map((e) => h('option', { value: e }, e)));
  const headers = h('textarea', { name: 'headers', rows: 3, class: 'mono', spellcheck: 'false', placeholder: 'x-project: apollo' });
  const body = h('textarea', { name: 'body', rows: 10, class: 'mono', spellcheck: 'false' }, JSON.stringify(SAMPLES['/v1/chat/completions'], null, 2));
  endpoint.addEventListener('change', () => { body.value = JSON.stringify(SAMPLES[endpoint.value], null, 2); });
  const result = h('div', { id: 'route-result' });
  const form = h('form', { class: 'card form', id: 'route-test', novalidate: true },
    h('h2', {}, t('test.title')), h('p', { class: 'muted' }, t('test.help')),
    field('endpoint', endpoint, t('test.endpoint')),
    field('headers', headers, t('test.headers')),
    field('body', body, t('test.body')),
    h('div', { class: 'form-status' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('test.run'))));
  replace(el, form, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const hdrs = {};
    for (const line of headers.value.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) hdrs[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let parsed;
    try { parsed = JSON.parse(body.value); } catch (err) {
      showFieldError(form, { field: 'body', message: t('config.bad_json', { error: err.message }) });
      return;
    }
    replace(result, h('p', { class: 'muted' }, t('common.loading')));
    try {
      replace(result, explanation(await api('/admin/route/test', { method: 'POST', body: { endpoint: endpoint.value, headers: hdrs, body: parsed } })));
    } catch (e) {
      replace(result);
      if (e.field || e.status === 400 || e.status === 422) showFieldError(form, Object.assign(e, { field: e.field || 'body' }));
      else replace(result, errorBox(e));
    }
  });
}

/** The route test's answer: one card per layer, in the order a request meets them. */
function explanation(x) {
  const card = (i, name, ...body) => h('section', { class: 'card layer', dataset: { layer: name } },
    h('h3', {}, h('span', { class: 'step' }, String(i)), ' ', t('test.layer_' + name)), ...body);
  const cards = [];
  let i = 1;
  cards.push(h('p', { class: 'notice ' + (x.routed ? 'ok' : 'warn'), id: 'route-verdict' },
    t(x.routed ? 'test.routed' : 'test.not_routed'), ' ', h('span', { class: 'mono' }, [x.endpoint, x.protocol].filter(Boolean).join(' · '))));
  if (x.parse) {
    cards.push(card(i++, 'parse', h('dl', { class: 'facts' },
      h('dt', {}, t('col.model')), h('dd', { class: 'mono' }, String(x.parse.model ?? '—')),
      h('dt', {}, t('test.stream')), h('dd', {}, t(x.parse.stream ? 'common.yes' : 'common.no')))));
  }
  if (x.classify) cards.push(card(i++, 'classify', h('p', {}, (x.classify.tags || []).length ? x.classify.tags.map((g) => h('span', { class: 'tag' }, g)) : t('test.no_tags'))));
  if (x.route) {
    cards.push(card(i++, 'route',
      h('dl', { class: 'facts' }, h('dt', {}, t('detail.requested')), h('dd', { class: 'mono' }, String(x.route.requested_model ?? '—')),
        h('dt', {}, t('detail.rule')), h('dd', { class: 'mono' }, String(x.route.rule ?? '—'))),
      h('h3', {}, t('detail.candidates')),
      h('ol', { class: 'candidates' }, (x.route.candidates || []).map((c) => h('li', { class: 'mono' },
        `${c.provider}/${c.model}`, c.profile ? h('span', { class: 'muted' }, ` (${c.profile})`) : null)))));
  }
  if (x.params) {
    cards.push(card(i++, 'params',
      h('p', { class: 'mono' }, `${x.params.provider}/${x.params.model}`),
      x.params.error ? h('p', { class: 'field-error' }, String(x.params.error)) : null,
      paramsChanged(x.params.changed),
      x.params.body ? jsonTree(x.params.body, t('test.sent_body')) : null));
  }
  if (x.error) {
    cards.push(card(i++, 'error', h('p', { class: 'field-error' }, `${x.error.layer || ''} ${x.error.status || ''}: ${x.error.message || ''}`)));
  }
  return h('div', { class: 'layers' }, cards);
}

/** The fields a parameter profile set or removed (a list), or whether it changed any. */
function paramsChanged(changed) {
  if (changed === undefined || changed === null) return null;
  const fields = Array.isArray(changed) ? changed : [];
  if (!fields.length && changed !== true) return h('p', {}, t('test.unchanged'));
  return h('p', {}, t('test.changed'), ' ', fields.map((f) => h('span', { class: 'tag mono' }, String(f))));
}
