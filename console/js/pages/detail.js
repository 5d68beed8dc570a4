// One exchange: the chat, route and attempts, timings, tokens and cost,
// and the raw request and response as JSON trees.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { num, usd, ms, dateTime } from '../format.js';
import { jsonTree } from '../jsontree.js';
import { errorBox, statusPill } from './common.js';

export function render(el, { parts }) {
  const id = parts[1];
  replace(el, h('p', { class: 'muted' }, t('common.loading')));
  api('/admin/records/' + encodeURIComponent(id))
    .then((r) => replace(el, view(r)))
    .catch((e) => replace(el,
      h('p', {}, h('a', { href: '#/requests' }, '← ', t('nav.requests'))),
      e.status === 404 && !e.missing ? h('div', { class: 'notice warn' }, t('detail.not_found', { id })) : errorBox(e)));
}

function view(r) {
  const attempts = Array.isArray(r.attempts) ? r.attempts : [];
  return h('div', { class: 'detail' },
    h('p', {}, h('a', { href: '#/requests' }, '← ', t('nav.requests'))),
    h('div', { class: 'page-head' },
      h('h1', {}, t('detail.title'), ' ', h('span', { class: 'mono muted', id: 'detail-id' }, r.id)),
      h('p', {}, statusPill(r), ' ', r.outcome ? t('outcome.' + r.outcome) : '', r.error_type ? h('span', { class: 'pill bad' }, r.error_type) : null)),
    h('div', { class: 'grid two' },
      h('section', { class: 'card' }, h('h2', {}, t('detail.chat')), chat(r)),
      h('div', {},
        h('section', { class: 'card' }, h('h2', {}, t('detail.summary')), facts([
          ['col.time', dateTime(r.time || r.ts_ms)],
          ['detail.endpoint', r.endpoint + (r.stream ? ' · ' + t('detail.streamed') : '')],
          ['detail.protocol', r.protocol],
          ['detail.requested', r.requested_model],
          ['col.model', r.model + (r.response_model && r.response_model !== r.model ? ` (${r.response_model})` : '')],
          ['col.provider', r.provider],
          ['col.project', r.project], ['col.source', r.source], ['detail.key', r.key_id], ['detail.team', r.team],
          ['col.tags', (r.tags || []).join(', ')],
          ['detail.response_tags', (r.response_tags || []).join(', ')],
          ['detail.finish', r.finish_reason],
        ])),
        h('section', { class: 'card' }, h('h2', {}, t('detail.route')),
          facts([['detail.rule', r.route], ['detail.candidates', (r.candidates || []).join(' → ')]]),
          h('h3', {}, t('detail.attempts')),
          attempts.length
            ? h('table', { class: 'table', id: 'attempts' },
              h('thead', {}, h('tr', {}, ['#', t('col.provider'), t('col.model'), t('col.status'), t('detail.error'), t('col.duration')].map((c) => h('th', {}, c)))),
              h('tbody', {}, attempts.map((a, i) => h('tr', {},
                h('td', {}, String(i + 1)), h('td', {}, a.provider || '—'), h('td', {}, a.model || '—'),
                h('td', {}, a.status ? String(a.status) : '—'), h('td', {}, a.error || '—'), h('td', { class: 'num' }, ms(a.duration_ms))))))
            : h('p', { class: 'muted' }, t('detail.one_attempt'))),
        h('section', { class: 'card' }, h('h2', {}, t('detail.numbers')), facts([
          ['detail.duration', ms(r.duration_ms)], ['detail.ttfb', ms(r.ttfb_ms)], ['detail.ttft', ms(r.ttft_ms)],
          ['detail.overhead', r.overhead_us === null || r.overhead_us === undefined ? null : num(r.overhead_us) + ' µs'],
          ['detail.tps', r.tokens_per_second === null || r.tokens_per_second === undefined ? null : num(r.tokens_per_second, 1)],
          ['detail.input_tokens', num(r.usage && r.usage.input_tokens)], ['detail.output_tokens', num(r.usage && r.usage.output_tokens)],
          ['detail.cached_tokens', num(r.usage && r.usage.cached_tokens)], ['detail.reasoning_tokens', num(r.usage && r.usage.reasoning_tokens)],
          ['detail.estimated', r.usage ? t(r.usage.estimated ? 'common.yes' : 'common.no') : null],
          ['col.cost', usd(r.cost_usd)],
        ])))),
    h('div', { class: 'grid two' },
      jsonTree(parse(r.request_body), t('detail.request_json') + (r.request_body_truncated ? ' ' + t('detail.truncated') : '')),
      r.response_body !== null && r.response_body !== undefined
        ? jsonTree(parse(r.response_body), t('detail.response_json') + (r.response_body_truncated ? ' ' + t('detail.truncated') : ''))
        : h('section', { class: 'json' }, h('div', { class: 'json-head' }, h('h3', {}, t('detail.response_json'))),
          h('p', { class: 'muted' }, t(r.stream ? 'detail.streamed_no_body' : 'detail.no_body')))));
}

function parse(body) {
  if (typeof body !== 'string') return body === undefined ? null : body;
  try { return JSON.parse(body); } catch { return body; }
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, String(v))]));
}

/** The text of a content value in any of the client protocols. */
function text(content) {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content.text || '';
  return content.map((p) => {
    if (typeof p === 'string') return p;
    if (p.text !== undefined) return p.text;
    if (p.type === 'image_url' || p.type === 'image' || p.type === 'input_image') return '[' + t('chat.image') + ']';
    if (p.type === 'tool_use') return `[${t('chat.tool_call')}: ${p.name}] ${JSON.stringify(p.input)}`;
    if (p.type === 'tool_result') return `[${t('chat.tool_result')}] ${text(p.content)}`;
    return '';
  }).filter(Boolean).join('\n');
}

/** The conversation a request body carries, as [{role, text}]. */
export function messages(body) {
  const out = [];
  if (!body || typeof body !== 'object') return out;
  if (body.system) out.push({ role: 'system', text: text(body.system) });
  if (body.instructions) out.push({ role: 'system', text: String(body.instructions) });
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      let s = text(m.content);
      for (const c of m.tool_calls || []) s += `${s ? '\n' : ''}[${t('chat.tool_call')}: ${c.function && c.function.name}] ${c.function && c.function.arguments}`;
      out.push({ role: m.role || 'user', text: s });
    }
  }
  if (typeof body.input === 'string') out.push({ role: 'user', text: body.input });
  else if (Array.isArray(body.input)) {
    for (const m of body.input) {
      if (typeof m === 'string') out.push({ role: 'user', text: m });
      else if (m.role) out.push({ role: m.role, text: text(m.content) });
    }
  }
  if (typeof body.prompt === 'string') out.push({ role: 'user', text: body.prompt });
  return out;
}

function chat(r) {
  const msgs = messages(parse(r.request_body));
  const answer = r.answer;
  const bubble = (role, s, cls) => h('div', { class: 'msg ' + (cls || role) },
    h('div', { class: 'msg-role' }, t('chat.' + (['system', 'user', 'assistant', 'tool', 'developer'].includes(role) ? role : 'other'))),
    h('div', { class: 'msg-text' }, s));
  return h('div', { class: 'chat', id: 'chat' },
    msgs.length ? msgs.map((m) => bubble(m.role, m.text)) : h('p', { class: 'muted' }, t('chat.no_prompt')),
    answer !== null && answer !== undefined && answer !== ''
      ? bubble('assistant', answer + (r.answer_truncated ? ' …' : ''), 'assistant answer')
      : h('p', { class: 'muted' }, t('chat.no_answer')));
}
