// The console's entry: hash routing, login, language switch, the live badge.
import { api, adminKey, setAdminKey, onUnauthorized } from './api.js';
import { h, replace } from './dom.js';
import { t, lang, setLang, translatePage } from './i18n.js';
import * as live from './live.js';
import * as dashboard from './pages/dashboard.js';
import * as requests from './pages/requests.js';
import * as detail from './pages/detail.js';
import * as usage from './pages/usage.js';
import * as config from './pages/config.js';
import * as errors from './pages/errors.js';

const main = document.getElementById('main');
const dialog = document.getElementById('login');
let cleanup = null;
let authorized = false;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

function pageFor(parts) {
  switch (parts[0]) {
    case 'requests': return parts[1] ? ['requests', detail] : ['requests', requests];
    case 'usage': return ['usage', usage];
    case 'config': return ['config', config];
    case 'errors': return ['errors', errors];
    default: return ['dashboard', dashboard];
  }
}

function route() {
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  const { parts, query } = parseHash();
  const [name, page] = pageFor(parts);
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === name);
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = `${t('nav.' + name)} · Switchyard`;
  if (!authorized) { replace(main, h('p', { class: 'notice' }, t('login.needed'))); return; }
  const container = h('div', { class: 'page page-' + name });
  replace(main, container);
  cleanup = page.render(container, { parts, query }) || null;
}

function updateBadge() {
  const s = live.liveState();
  const badge = document.getElementById('live');
  badge.classList.toggle('off', !s.connected);
  badge.querySelector('span').textContent = t(s.connected ? 'live.on' : 'live.off');
  badge.title = s.missed ? t('live.missed', { n: s.missed }) : t('live.title');
}

function showLogin(message) {
  authorized = false;
  live.stop();
  updateBadge();
  const err = document.getElementById('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  if (!dialog.open) dialog.showModal();
  document.getElementById('login-key').focus();
  route();
}

/** Checks the stored key (or loopback access) against the admin API. */
async function probe() {
  try {
    await api('/admin/projects?active_since_mins=1');
    return null;
  } catch (e) {
    if (e.status === 401) return adminKey() ? t('login.wrong') : '';
    if (e.status === 403) return t('login.forbidden');
    // The journal may be off (503): the key was still accepted.
    if (e.status && e.status !== 0) return null;
    return t('login.unreachable', { error: e.message });
  }
}

async function authorize() {
  const problem = await probe();
  if (problem !== null) { showLogin(problem); return; }
  authorized = true;
  if (dialog.open) dialog.close();
  document.getElementById('logout').hidden = !adminKey();
  live.start();
  route();
}

function boot() {
  const select = document.getElementById('lang');
  select.value = lang();
  select.addEventListener('change', () => { setLang(select.value); translatePage(); updateBadge(); route(); });
  translatePage();
  updateBadge();
  live.subscribe((kind) => { if (kind === 'status' || kind === 'lagged') updateBadge(); });
  onUnauthorized(() => { if (authorized) showLogin(t('login.expired')); });
  document.getElementById('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setAdminKey(document.getElementById('login-key').value.trim());
    authorize();
  });
  dialog.addEventListener('cancel', (ev) => ev.preventDefault());
  document.getElementById('logout').addEventListener('click', () => {
    setAdminKey('');
    document.getElementById('login-key').value = '';
    showLogin('');
  });
  window.addEventListener('hashchange', route);
  authorize();
}

boot();
