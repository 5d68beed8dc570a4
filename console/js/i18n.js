// English and Simplified Chinese. The language comes from a saved choice,
// else the browser's languages; every visible string goes through t().

const STORE = 'switchyard.lang';

export const dictionaries = {
  en: {
    'nav.dashboard': 'Dashboard', 'nav.requests': 'Requests', 'nav.usage': 'Usage', 'nav.config': 'Configuration', 'nav.errors': 'Errors',
    'live.on': 'Live', 'live.off': 'Offline', 'live.title': 'Connection to the live feed', 'live.missed': 'Live feed: {n} events were dropped because this page read too slowly',
    'login.title': 'Sign in', 'login.help': 'Enter the gateway’s admin key. It is kept for this browser tab only.',
    'login.key': 'Admin key', 'login.submit': 'Sign in', 'login.logout': 'Sign out', 'login.needed': 'Sign in with the admin key to see the console.',
    'login.wrong': 'That key was refused.', 'login.expired': 'The admin key was refused; sign in again.',
    'login.forbidden': 'This gateway has no admin key and answers the admin API only on its own machine.',
    'login.unreachable': 'The gateway cannot be reached: {error}',
    'common.loading': 'Loading…', 'common.no_data': 'Nothing yet.', 'common.none': '(none)', 'common.copy': 'Copy', 'common.copied': 'Copied',
    'common.error': 'Error:', 'common.unavailable': 'This gateway does not offer this part of the admin API yet (404).',
    'common.journal_off': 'The journal is disabled on this gateway.', 'common.yes': 'yes', 'common.no': 'no',
    'col.time': 'Time', 'col.status': 'Status', 'col.model': 'Model', 'col.provider': 'Provider', 'col.project': 'Project', 'col.source': 'Source',
    'col.tags': 'Tags', 'col.tag': 'Tag', 'col.tokens': 'Tokens', 'col.cost': 'Cost', 'col.duration': 'Duration', 'col.kind': 'Kind', 'col.health': 'Health',
    'col.models': 'Models', 'col.state': 'State', 'col.failures': 'Failures in a row', 'col.retry_in': 'Retry in', 'col.key': 'Key', 'col.team': 'Team',
    'health.up': 'up', 'health.down': 'down',
    'circuit.closed': 'closed', 'circuit.open': 'open', 'circuit.half_open': 'half open',
    'dash.since_open': 'Charts: the last two minutes; counters: since this page opened; cost today: from the journal.',
    'dash.requests': 'Requests', 'dash.in_flight': 'In flight', 'dash.tokens': 'Tokens', 'dash.errors': 'Errors', 'dash.cost': 'Cost',
    'dash.rps': 'Requests per second', 'dash.tps': 'Tokens per second', 'dash.errors_per_s': 'Errors per second',
    'dash.latency': 'Latency (last 10 s)', 'dash.ttft': 'Time to first token (last 10 s)',
    'dash.requests_s': 'requests/s', 'dash.tokens_s': 'tokens/s', 'dash.errors_s': 'errors/s', 'dash.ttft_p50': 'median',
    'dash.health': 'Providers', 'dash.circuits': 'Circuit breakers', 'dash.no_circuits': 'No circuit has seen traffic yet.',
    'dash.cost_today': 'Cost today', 'dash.requests_n': '{n} requests',
    'filter.any': 'any', 'filter.apply': 'Filter', 'filter.clear': 'Clear',
    'filter.status_200': '200 OK', 'filter.status_4xx': '4xx', 'filter.status_error': 'errors',
    'requests.help': 'Every exchange, newest first. New ones appear as they finish.',
    'requests.live_hint': 'Live: new requests appear at the top.', 'requests.empty': 'No requests match.', 'requests.more': 'Older requests',
    'detail.title': 'Request', 'detail.not_found': 'No request {id} in the journal.', 'detail.chat': 'Conversation', 'detail.summary': 'Summary',
    'detail.endpoint': 'Endpoint', 'detail.streamed': 'streamed', 'detail.protocol': 'Client protocol', 'detail.requested': 'Requested model',
    'detail.key': 'Key', 'detail.team': 'Team', 'detail.response_tags': 'Response tags', 'detail.finish': 'Finish reason',
    'detail.route': 'Route', 'detail.rule': 'Decided by', 'detail.candidates': 'Candidates', 'detail.attempts': 'Attempts',
    'detail.error': 'Error', 'detail.one_attempt': 'No attempt details recorded.',
    'detail.numbers': 'Timings, tokens and cost', 'detail.duration': 'Duration', 'detail.ttfb': 'Time to first byte', 'detail.ttft': 'Time to first token',
    'detail.overhead': 'Gateway overhead', 'detail.tps': 'Tokens per second', 'detail.input_tokens': 'Input tokens', 'detail.output_tokens': 'Output tokens',
    'detail.cached_tokens': 'Cached tokens', 'detail.reasoning_tokens': 'Reasoning tokens', 'detail.estimated': 'Estimated',
    'detail.request_json': 'Request', 'detail.response_json': 'Response', 'detail.truncated': '(cut)',
    'detail.streamed_no_body': 'A streamed answer: its text is in the conversation.', 'detail.no_body': 'No response body recorded.',
    'outcome.completed': 'completed', 'outcome.client_disconnected': 'client went away', 'outcome.stream_error': 'stream broke', 'outcome.failed': 'failed',
    'chat.system': 'System', 'chat.user': 'User', 'chat.assistant': 'Assistant', 'chat.tool': 'Tool', 'chat.developer': 'Developer', 'chat.other': 'Other',
    'chat.image': 'image', 'chat.tool_call': 'tool call', 'chat.tool_result': 'tool result',
    'chat.no_prompt': 'No prompt recorded.', 'chat.no_answer': 'No answer recorded.',
    'usage.window': 'Window', 'window.1h': 'Last hour', 'window.24h': 'Last 24 hours', 'window.7d': 'Last 7 days', 'window.30d': 'Last 30 days',
    'usage.by_model': 'By model', 'usage.by_provider': 'By provider', 'usage.by_key': 'By key', 'usage.by_team': 'By team',
    'usage.by_project': 'By project', 'usage.by_source': 'By source', 'usage.p95': 'p95 duration', 'usage.avg_duration': 'Average duration',
    'errors.help': 'Requests that failed, and requests that succeeded only after failing over.',
    'errors.failed': 'Failed', 'errors.mitigated': 'Mitigated by failover', 'errors.mitigated_help': 'Answered, but after more than one attempt (of the latest 1000 requests).',
    'errors.none': 'None.',
    'config.help': 'Changes are validated like the config file and applied at once, without a restart.',
    'config.tab_providers': 'Providers', 'config.tab_routes': 'Routing rules', 'config.tab_models': 'Virtual models', 'config.tab_keys': 'Keys', 'config.tab_test': 'Test a route',
    'config.add': 'Add', 'config.edit': 'Edit', 'config.delete': 'Delete', 'config.save': 'Save', 'config.validate': 'Check only', 'config.cancel': 'Cancel',
    'config.adding': 'New', 'config.editing': 'Editing {name}', 'config.saved': 'Saved {name}.', 'config.valid': 'Valid.',
    'config.confirm_delete': 'Delete {name}?', 'config.bad_json': 'Not valid JSON: {error}', 'config.not_object': 'Must be a JSON object.',
    'config.secret_set': 'set', 'config.secret_unset': 'not set', 'config.secret_keep': 'set (leave empty to keep)',
    'config.f_id': 'Id', 'config.f_kind': 'Kind', 'config.f_base_url': 'Base URL', 'config.f_api_key': 'API key', 'config.f_models': 'Models (comma-separated globs)',
    'config.f_discover': 'Discover models from the server', 'config.f_extra': 'Other fields (JSON)', 'config.f_body': 'Definition (JSON, config file field names)',
    'config.f_json': 'JSON', 'config.f_name': 'Name', 'config.f_conditions': 'Conditions', 'config.f_to': 'Targets', 'config.f_strategy': 'Strategy',
    'config.f_targets': 'Targets', 'config.f_description': 'Description',
    'keys.create': 'Create a key', 'keys.created': 'Key created.', 'keys.rotated': 'Key rotated.', 'keys.once': 'Copy it now: it is not shown again.',
    'keys.id': 'Id', 'keys.label': 'Label', 'keys.team': 'Team', 'keys.project': 'Project', 'keys.key': 'Key', 'keys.allowed_models': 'Allowed models',
    'keys.rpm': 'Requests per minute', 'keys.tpm': 'Tokens per minute', 'keys.budget_daily': 'Daily budget (USD)', 'keys.budget_monthly': 'Monthly budget (USD)',
    'keys.rotate': 'Rotate', 'keys.id_auto': 'automatic when empty', 'keys.mode': 'Authentication mode: {mode}',
    'keys.persistent': 'keys created here are stored', 'keys.not_persistent': 'keys created here last until the gateway stops (no key store configured)',
    'test.title': 'Test this route', 'test.help': 'Shows, layer by layer, where a request would go, without sending it.',
    'test.layer_parse': 'Parse', 'test.layer_classify': 'Classify (request tags)', 'test.layer_route': 'Route', 'test.layer_params': 'Parameters for the first candidate',
    'test.layer_error': 'Refused', 'test.routed': 'This request would be routed.', 'test.not_routed': 'This request would not be routed.',
    'test.no_tags': 'No tags.', 'test.stream': 'Streamed', 'test.changed': 'The profile changes these fields:', 'test.unchanged': 'No profile changes the body.', 'test.sent_body': 'Body sent upstream',
    'test.endpoint': 'Endpoint', 'test.headers': 'Headers (one "name: value" a line)', 'test.body': 'Body (JSON)', 'test.run': 'Explain',
  },
  'zh-CN': {
    'nav.dashboard': '仪表盘', 'nav.requests': '请求', 'nav.usage': '用量', 'nav.config': '配置', 'nav.errors': '错误',
    'live.on': '实时', 'live.off': '离线', 'live.title': '实时事件流连接', 'live.missed': '实时事件流：本页读取过慢，丢失了 {n} 个事件',
    'login.title': '登录', 'login.help': '请输入网关的管理密钥。密钥只保存在当前浏览器标签页中。',
    'login.key': '管理密钥', 'login.submit': '登录', 'login.logout': '退出', 'login.needed': '请使用管理密钥登录后查看控制台。',
    'login.wrong': '密钥被拒绝。', 'login.expired': '管理密钥被拒绝，请重新登录。',
    'login.forbidden': '此网关未设置管理密钥，管理接口仅对本机开放。',
    'login.unreachable': '无法连接网关：{error}',
    'common.loading': '加载中…', 'common.no_data': '暂无数据。', 'common.none': '（无）', 'common.copy': '复制', 'common.copied': '已复制',
    'common.error': '错误：', 'common.unavailable': '此网关尚未提供这部分管理接口（404）。',
    'common.journal_off': '此网关已关闭请求日志。', 'common.yes': '是', 'common.no': '否',
    'col.time': '时间', 'col.status': '状态', 'col.model': '模型', 'col.provider': '供应商', 'col.project': '项目', 'col.source': '来源',
    'col.tags': '标签', 'col.tag': '标签', 'col.tokens': '令牌数', 'col.cost': '费用', 'col.duration': '耗时', 'col.kind': '类型', 'col.health': '健康状态',
    'col.models': '模型', 'col.state': '状态', 'col.failures': '连续失败', 'col.retry_in': '重试倒计时', 'col.key': '密钥', 'col.team': '团队',
    'health.up': '正常', 'health.down': '故障',
    'circuit.closed': '闭合', 'circuit.open': '断开', 'circuit.half_open': '半开',
    'dash.since_open': '图表：最近两分钟；计数：自本页打开起；今日费用：来自请求日志。',
    'dash.requests': '请求数', 'dash.in_flight': '处理中', 'dash.tokens': '令牌数', 'dash.errors': '错误数', 'dash.cost': '费用',
    'dash.rps': '每秒请求数', 'dash.tps': '每秒令牌数', 'dash.errors_per_s': '每秒错误数',
    'dash.latency': '延迟（最近 10 秒）', 'dash.ttft': '首令牌时间（最近 10 秒）',
    'dash.requests_s': '请求/秒', 'dash.tokens_s': '令牌/秒', 'dash.errors_s': '错误/秒', 'dash.ttft_p50': '中位数',
    'dash.health': '供应商', 'dash.circuits': '熔断器', 'dash.no_circuits': '尚无熔断器处理过流量。',
    'dash.cost_today': '今日费用', 'dash.requests_n': '{n} 个请求',
    'filter.any': '全部', 'filter.apply': '筛选', 'filter.clear': '清除',
    'filter.status_200': '200 成功', 'filter.status_4xx': '4xx', 'filter.status_error': '错误',
    'requests.help': '所有请求，最新的在前。新请求完成后即时出现。',
    'requests.live_hint': '实时：新请求显示在顶部。', 'requests.empty': '没有匹配的请求。', 'requests.more': '更早的请求',
    'detail.title': '请求', 'detail.not_found': '日志中没有请求 {id}。', 'detail.chat': '对话', 'detail.summary': '概要',
    'detail.endpoint': '接口', 'detail.streamed': '流式', 'detail.protocol': '客户端协议', 'detail.requested': '请求的模型',
    'detail.key': '密钥', 'detail.team': '团队', 'detail.response_tags': '响应标签', 'detail.finish': '结束原因',
    'detail.route': '路由', 'detail.rule': '决定者', 'detail.candidates': '候选目标', 'detail.attempts': '尝试',
    'detail.error': '错误', 'detail.one_attempt': '未记录尝试详情。',
    'detail.numbers': '耗时、令牌与费用', 'detail.duration': '总耗时', 'detail.ttfb': '首字节时间', 'detail.ttft': '首令牌时间',
    'detail.overhead': '网关开销', 'detail.tps': '每秒令牌数', 'detail.input_tokens': '输入令牌', 'detail.output_tokens': '输出令牌',
    'detail.cached_tokens': '缓存令牌', 'detail.reasoning_tokens': '推理令牌', 'detail.estimated': '估算值',
    'detail.request_json': '请求', 'detail.response_json': '响应', 'detail.truncated': '（已截断）',
    'detail.streamed_no_body': '流式回答：其文本见对话。', 'detail.no_body': '未记录响应体。',
    'outcome.completed': '已完成', 'outcome.client_disconnected': '客户端已断开', 'outcome.stream_error': '流中断', 'outcome.failed': '失败',
    'chat.system': '系统', 'chat.user': '用户', 'chat.assistant': '助手', 'chat.tool': '工具', 'chat.developer': '开发者', 'chat.other': '其他',
    'chat.image': '图片', 'chat.tool_call': '工具调用', 'chat.tool_result': '工具结果',
    'chat.no_prompt': '未记录提示词。', 'chat.no_answer': '未记录回答。',
    'usage.window': '时间范围', 'window.1h': '最近 1 小时', 'window.24h': '最近 24 小时', 'window.7d': '最近 7 天', 'window.30d': '最近 30 天',
    'usage.by_model': '按模型', 'usage.by_provider': '按供应商', 'usage.by_key': '按密钥', 'usage.by_team': '按团队',
    'usage.by_project': '按项目', 'usage.by_source': '按来源', 'usage.p95': 'p95 耗时', 'usage.avg_duration': '平均耗时',
    'errors.help': '失败的请求，以及经故障转移后才成功的请求。',
    'errors.failed': '失败', 'errors.mitigated': '经故障转移挽回', 'errors.mitigated_help': '已应答，但尝试了不止一次（最近 1000 个请求中）。',
    'errors.none': '无。',
    'config.help': '修改会像配置文件一样经过校验，并立即生效，无需重启。',
    'config.tab_providers': '供应商', 'config.tab_routes': '路由规则', 'config.tab_models': '虚拟模型', 'config.tab_keys': '密钥', 'config.tab_test': '路由测试',
    'config.add': '添加', 'config.edit': '编辑', 'config.delete': '删除', 'config.save': '保存', 'config.validate': '仅校验', 'config.cancel': '取消',
    'config.adding': '新建', 'config.editing': '编辑 {name}', 'config.saved': '已保存 {name}。', 'config.valid': '校验通过。',
    'config.confirm_delete': '删除 {name}？', 'config.bad_json': 'JSON 无效：{error}', 'config.not_object': '必须是 JSON 对象。',
    'config.secret_set': '已设置', 'config.secret_unset': '未设置', 'config.secret_keep': '已设置（留空则保持不变）',
    'config.f_id': '标识', 'config.f_kind': '类型', 'config.f_base_url': '基础 URL', 'config.f_api_key': 'API 密钥', 'config.f_models': '模型（逗号分隔的通配符）',
    'config.f_discover': '从服务器发现模型', 'config.f_extra': '其他字段（JSON）', 'config.f_body': '定义（JSON，字段名同配置文件）',
    'config.f_json': 'JSON', 'config.f_name': '名称', 'config.f_conditions': '条件', 'config.f_to': '目标', 'config.f_strategy': '策略',
    'config.f_targets': '目标', 'config.f_description': '描述',
    'keys.create': '创建密钥', 'keys.created': '密钥已创建。', 'keys.rotated': '密钥已轮换。', 'keys.once': '请立即复制：它不会再次显示。',
    'keys.id': '标识', 'keys.label': '名称', 'keys.team': '团队', 'keys.project': '项目', 'keys.key': '密钥', 'keys.allowed_models': '允许的模型',
    'keys.rpm': '每分钟请求数', 'keys.tpm': '每分钟令牌数', 'keys.budget_daily': '每日预算（美元）', 'keys.budget_monthly': '每月预算（美元）',
    'keys.rotate': '轮换', 'keys.id_auto': '留空则自动生成', 'keys.mode': '认证模式：{mode}',
    'keys.persistent': '在此创建的密钥会被保存', 'keys.not_persistent': '在此创建的密钥仅在网关运行期间有效（未配置密钥存储）',
    'test.title': '测试路由', 'test.help': '逐层显示一个请求会被发往何处，但不会真正发送。',
    'test.layer_parse': '解析', 'test.layer_classify': '分类（请求标签）', 'test.layer_route': '路由', 'test.layer_params': '首个候选目标的参数',
    'test.layer_error': '被拒绝', 'test.routed': '此请求可以被路由。', 'test.not_routed': '此请求无法被路由。',
    'test.no_tags': '无标签。', 'test.stream': '流式', 'test.changed': '参数配置修改了这些字段：', 'test.unchanged': '没有参数配置修改请求体。', 'test.sent_body': '发往上游的请求体',
    'test.endpoint': '接口', 'test.headers': '请求头（每行一个“名称: 值”）', 'test.body': '请求体（JSON）', 'test.run': '解释',
  },
};

/** The console's language: the saved choice, else the browser's first supported one. */
export function lang() {
  let saved = null;
  try { saved = localStorage.getItem(STORE); } catch { saved = null; }
  if (saved && dictionaries[saved]) return saved;
  const prefs = (typeof navigator !== 'undefined' && navigator.languages) || [];
  for (const l of prefs) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

export function setLang(l) {
  if (dictionaries[l]) localStorage.setItem(STORE, l);
}

/** The text of `key` in the current language, with {name} placeholders filled. */
export function t(key, params) {
  const d = dictionaries[lang()];
  let s = d[key] ?? dictionaries.en[key];
  if (s === undefined) { console.warn('missing translation', key); s = key; }
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/** Fills the static shell's data-i18n elements and the document language. */
export function translatePage() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}
