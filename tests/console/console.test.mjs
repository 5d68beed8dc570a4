// Browser tests of the web console: a real headless Chromium driven by
// playwright-core against a running gateway (started by tests/console.rs).
//
// Environment:
//   CONSOLE_URL      gateway with an admin key (http://127.0.0.1:PORT)
//   CONSOLE_KEY      its admin key
//   CONSOLE_OPEN_URL gateway without an admin key (loopback access)
//   SPARE_UPSTREAM   base URL of a fake OpenAI upstream no provider uses yet
//   SCREENSHOTS      directory for the screenshots
//   CHROMIUM         browser executable (default /usr/bin/chromium)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const URL_ = process.env.CONSOLE_URL;
const KEY = process.env.CONSOLE_KEY;
const OPEN_URL = process.env.CONSOLE_OPEN_URL;
const SPARE = process.env.SPARE_UPSTREAM;
const SHOTS = process.env.SCREENSHOTS || 'console-screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(URL_ && KEY && OPEN_URL && SPARE, 'CONSOLE_URL, CONSOLE_KEY, CONSOLE_OPEN_URL and SPARE_UPSTREAM must be set');
mkdirSync(SHOTS, { recursive: true });

const SECRET = 'sk-console-secret-0123456789';
const XSS = '<img src=x onerror="window.__pwned=1"> please explain trains';
const PAGES = ['dashboard', 'requests', 'usage', 'config/providers', 'config/routes', 'config/models', 'config/keys', 'config/test', 'errors'];

/** Sends a chat request through the gateway; answers {status, headers, json}. */
async function chat(model, prompt, headers = {}) {
  const res = await fetch(`${URL_}/v1/chat/completions`, {
    method: 'POST',
    headers: Object.assign({ 'content-type': 'application/json' }, headers),
    body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] }),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, headers: res.headers, json };
}

/** Waits until the journal lists at least `n` records for `query` (it writes in batches). */
async function journaled(query, n) {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${URL_}/admin/records?${query}`, { headers: { authorization: `Bearer ${KEY}` } });
    const page = await res.json();
    if (page.records && page.records.length >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the journal never listed ${n} records for ${query}`);
}

/** Waits until the journal has the record `id`. */
async function recorded(id) {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${URL_}/admin/records/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
    if (res.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the journal never had ${id}`);
}

/** A page that records console errors, page errors and missing translations. */
async function openPage(browser, { locale = 'en-US', base = URL_ } = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    // The browser logs every 4xx answer as an error; the expected ones (401
    // before login, 422 from validation) are not the page's errors, and
    // unexpected statuses are caught below.
    if (m.text().startsWith('Failed to load resource')) return;
    if (m.type() === 'error' || m.text().includes('missing translation')) problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    // Refusals the scenarios provoke (401 before login, 409 for a duplicate, 422
    // from validation, an unknown record) are expected; anything else is a bug.
    const path = new URL(r.url()).pathname;
    const expected = r.status() < 400 || [401, 409, 422].includes(r.status()) || (r.status() === 404 && path.startsWith('/admin/records/'));
    if (!expected) problems.push(`HTTP ${r.status()} ${r.request().method()} ${path}`);
  });
  await page.goto(`${base}/console/`);
  return { context, page, problems };
}

async function login(page, key) {
  await page.locator('#login[open]').waitFor();
  await page.fill('#login-key', key);
  await page.click('#login-form button[type=submit]');
}

async function visit(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, '#/' + hash);
  await page.locator('#main .page').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('#main')?.textContent.includes('Loading') && !document.querySelector('#main')?.textContent.includes('加载中'), null, { timeout: 5000 }).catch(() => {});
}

async function shoot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });

test('the web console', async (t) => {
  const { context, page, problems } = await openPage(browser);

  await t.test('the shell loads without a key; data needs it', async () => {
    await login(page, 'wrong-key');
    await page.locator('#login-error:not([hidden])').waitFor();
    assert.equal(await page.textContent('#login-error'), 'That key was refused.');
    await page.fill('#login-key', KEY);
    await page.click('#login-form button[type=submit]');
    await page.locator('#login:not([open])').waitFor({ state: 'attached' });
    await page.waitForFunction(() => !document.querySelector('#login').open);
    await page.locator('#live:not(.off)').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.adminKey')), KEY);
  });

  await t.test('every page loads without console errors', async () => {
    for (const p of PAGES) {
      await visit(page, p);
      assert.ok((await page.textContent('#main')).trim().length > 20, `${p} is not blank`);
    }
    assert.deepEqual(problems, []);
  });

  let xssId = null;
  await t.test('traffic appears live in the requests table', async () => {
    await visit(page, 'requests');
    const before = await page.locator('#records tr.rec').count();
    const sent = [];
    for (let i = 0; i < 4; i++) sent.push(await chat('gpt-4o-mini', `live request number ${i}`, { 'x-project': 'apollo', 'x-source': 'console-test' }));
    const x = await chat('gpt-4o-mini', XSS, { 'x-project': 'apollo', 'x-source': '<b id=injected>bold</b>' });
    sent.push(x);
    for (const r of sent) assert.equal(r.status, 200, JSON.stringify(r.json));
    xssId = x.headers.get('x-switchyard-request-id');
    assert.ok(xssId, 'the gateway names the request');
    await page.locator(`#records tr[data-id="${xssId}"]`).waitFor({ timeout: 10000 });
    await page.waitForFunction((n) => document.querySelectorAll('#records tr.rec').length >= n, before + 5);
    const row = await page.textContent(`#records tr[data-id="${xssId}"]`);
    assert.match(row, /apollo/);
    assert.match(row, /fake/);
    assert.match(row, /200/);
    assert.match(row, /<b id=injected>bold<\/b>/, 'the source header is shown as text');
    assert.equal(await page.locator('#injected').count(), 0);
  });

  await t.test('the filter narrows the table', async () => {
    await journaled('source=console-test', 4);
    await visit(page, 'requests?source=console-test');
    await page.locator('#records tr.rec').first().waitFor();
    const rows = await page.locator('#records tr.rec').count();
    assert.equal(rows, 4, 'the four requests sent with x-source: console-test');
    await chat('gpt-4o-mini', 'another from the test', { 'x-source': 'console-test' });
    await chat('gpt-4o-mini', 'one from elsewhere', { 'x-source': 'elsewhere' });
    await page.waitForFunction(() => document.querySelectorAll('#records tr.rec').length === 5);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.locator('#records tr.rec').count(), 5, 'the other source stays out');
  });

  await t.test('the dashboard counts live traffic', async () => {
    await visit(page, 'dashboard');
    const count = async () => Number((await page.textContent('#count-requests')).replace(/\D/g, ''));
    const before = await count();
    for (let i = 0; i < 3; i++) await chat('gpt-4o-mini', `dashboard ${i}`, { 'x-project': 'hermes' });
    // A streamed answer gives the time-to-first-token chart a point.
    const streamed = await fetch(`${URL_}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-1', stream: true, messages: [{ role: 'user', content: 'stream a few words please' }] }),
    });
    assert.match(await streamed.text(), /\[DONE\]/);
    await page.waitForFunction(() => Number(document.querySelector('#chart-ttft canvas')?.dataset.total) > 0);
    await page.waitForFunction((n) => Number(document.querySelector('#count-requests').textContent.replace(/\D/g, '')) >= n, before + 3);
    assert.ok((await count()) >= before + 3);
    await page.locator('#health tr[data-provider="fake"]').waitFor();
    assert.match(await page.textContent('#health'), /fake/);
    await page.waitForFunction(() => document.querySelector('#cost-today').textContent.includes('hermes'), null, { timeout: 15000 });
    await shoot(page, 'en-dashboard');
  });

  await t.test('a request\'s detail shows its prompt as text', async () => {
    await visit(page, 'requests');
    await page.click(`#records tr[data-id="${xssId}"]`);
    await page.locator('#chat').waitFor();
    const chatText = await page.textContent('#chat');
    assert.ok(chatText.includes(XSS), `the prompt, literally: ${chatText}`);
    assert.match(chatText, /Mock reply|trains/i, 'the answer is rendered');
    assert.equal(await page.locator('#chat img, .detail img').count(), 0, 'no element was made from the prompt');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.textContent('#detail-id'), xssId);
    assert.ok((await page.locator('.json .j-str').count()) > 0, 'the request JSON tree');
    await page.locator('.json button.copy').first().click();
    await shoot(page, 'en-detail');
  });

  await t.test('an Anthropic request renders its system prompt and blocks as a chat', async () => {
    const res = await fetch(`${URL_}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 64, system: [{ type: 'text', text: 'You are a terse guide.' }],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Which platform for Leeds?' }] }] }),
    });
    assert.equal(res.status, 200, await res.text());
    const id = res.headers.get('x-switchyard-request-id');
    await recorded(id);
    await visit(page, 'requests/' + id);
    await page.locator('#chat .msg.system').waitFor();
    assert.equal(await page.textContent('#chat .msg.system .msg-text'), 'You are a terse guide.');
    assert.equal(await page.textContent('#chat .msg.user .msg-text'), 'Which platform for Leeds?');
    assert.match(await page.textContent('#chat .msg.answer'), /Leeds/);
    assert.match(await page.textContent('.detail .facts'), /anthropic/);
  });

  await t.test('errors and failover', async () => {
    const failed = await chat('mock-1', 'please fail [mock-error:500]');
    assert.equal(failed.status, 500);
    const rescued = await chat('resilient', 'rescue me');
    assert.equal(rescued.status, 200);
    assert.equal(rescued.headers.get('x-switchyard-attempts'), '2');
    await journaled('status=error', 1);
    await journaled('model=resilient', 1);
    await visit(page, 'errors');
    await page.locator(`#failed tr[data-id="${failed.headers.get('x-switchyard-request-id')}"]`).waitFor();
    await page.locator(`#mitigated tr[data-id="${rescued.headers.get('x-switchyard-request-id')}"]`).waitFor();
    await shoot(page, 'en-errors');
    await page.click(`#mitigated tr[data-id="${rescued.headers.get('x-switchyard-request-id')}"]`);
    await page.locator('#attempts tbody tr').nth(1).waitFor();
    assert.equal(await page.locator('#attempts tbody tr').count(), 2);
    assert.match(await page.textContent('#attempts'), /broken/);
  });

  await t.test('usage by every dimension', async () => {
    await visit(page, 'usage?window=1h');
    for (const d of ['model', 'provider', 'key', 'team', 'project', 'source']) {
      await page.locator(`#usage-${d}`).waitFor();
    }
    assert.match(await page.textContent('#usage-project'), /apollo/);
    assert.match(await page.textContent('#usage-source'), /console-test/);
    assert.equal(await page.locator('#usage-team .unavailable').count(), 0, 'teams are reported');
    await shoot(page, 'en-usage');
  });

  await t.test('a validation error shows next to its field', async () => {
    await visit(page, 'config/providers');
    await page.click('#add-providers');
    await page.fill('#editor-form [name=id]', 'badurl');
    await page.selectOption('#editor-form [name=kind]', 'openai');
    await page.fill('#editor-form [name=base_url]', 'not a url');
    await page.fill('#editor-form [name=models]', 'bad-*');
    await page.click('#editor-form button[name=save]');
    const err = page.locator('#editor-form label:has([name=base_url]) .field-error');
    await err.waitFor();
    assert.match(await err.textContent(), /base_url/);
    assert.equal(await page.getAttribute('#editor-form [name=base_url]', 'aria-invalid'), 'true');
    await shoot(page, 'en-config-error');
    // Bad JSON in the other fields is caught before anything is sent.
    await page.fill('#editor-form [name=base_url]', 'http://127.0.0.1:9/v1');
    await page.fill('#editor-form [name=json]', '{"timeout_secs": ');
    await page.click('#editor-form button[name=validate]');
    const jsonErr = page.locator('#editor-form label:has([name=json]) .field-error');
    await jsonErr.waitFor();
    assert.match(await jsonErr.textContent(), /JSON/);
    assert.equal(await page.locator('#editor-form label:has([name=base_url]) .field-error').count(), 0, 'the old error is gone');
    // "Check only" validates without applying.
    await page.fill('#editor-form [name=json]', '{"timeout_secs": 5}');
    await page.click('#editor-form button[name=validate]');
    await page.locator('#editor-form .ok-text').waitFor();
    await visit(page, 'config/providers');
    assert.equal(await page.locator('tr[data-item="badurl"]').count(), 0, 'a check adds nothing');
    await page.click('#add-providers');
    await page.selectOption('#editor-form [name=kind]', 'openai');
  });

  await t.test('an unknown request id gets a message', async () => {
    await visit(page, 'requests/01NOSUCHRECORD');
    await page.locator('.notice').waitFor();
    assert.match(await page.textContent('.notice'), /01NOSUCHRECORD/);
    await visit(page, 'config/providers');
    await page.click('#add-providers');
  });

  await t.test('add a provider and route a request to it', async () => {
    await page.fill('#editor-form [name=id]', 'added');
    await page.fill('#editor-form [name=base_url]', SPARE);
    await page.fill('#editor-form [name=models]', 'added-model-*');
    await page.fill('#editor-form [name=api_key]', SECRET);
    await page.uncheck('#editor-form [name=discover]');
    await page.click('#editor-form button[name=save]');
    await page.locator('.editor .notice.ok').waitFor();
    await page.locator('tr[data-item="added"]').waitFor();
    assert.equal(await page.textContent('tr[data-item="added"] td:nth-child(5)'), 'set', 'the API key column');
    const r = await chat('added-model-1', 'hello new provider');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.headers.get('x-switchyard-provider'), 'added');
    await shoot(page, 'en-config-providers');
  });

  await t.test('editing a provider keeps its secret, which the page never shows', async () => {
    await page.click('tr[data-item="added"] button:first-of-type');
    assert.equal(await page.inputValue('#editor-form [name=api_key]'), '', 'the secret is write-only');
    await page.fill('#editor-form [name=models]', 'added-model-*, extra-*');
    await page.click('#editor-form button[name=save]');
    await page.locator('.editor .notice.ok').waitFor();
    await page.waitForFunction(() => document.querySelector('tr[data-item="added"]')?.textContent.includes('extra-*'));
    const r = await chat('extra-1', 'after the edit');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.headers.get('x-switchyard-provider'), 'added');
    assert.ok(!(await page.content()).includes(SECRET));
  });

  await t.test('the route test box explains a request layer by layer', async () => {
    await visit(page, 'config/test');
    await page.fill('#route-test [name=body]', JSON.stringify({ model: 'resilient', messages: [{ role: 'user', content: 'hi' }] }));
    await page.click('#route-test button[type=submit]');
    await page.locator('#route-result .layer').first().waitFor();
    const text = await page.textContent('#route-result');
    assert.match(text, /resilient/);
    assert.match(text, /broken/);
    assert.match(text, /fake/);
    await shoot(page, 'en-config-test-result');
  });

  await t.test('a virtual model edited as JSON: an unknown target is refused next to the JSON, a good one is served', async () => {
    await visit(page, 'config/models');
    await page.click('#add-models');
    await page.fill('#editor-form [name=name]', 'console-vm');
    await page.fill('#editor-form [name=json]', JSON.stringify({ targets: ['nowhere/x'] }));
    await page.click('#editor-form button[name=save]');
    const err = page.locator('#editor-form label:has([name=json]) .field-error');
    await err.waitFor();
    assert.match(await err.textContent(), /nowhere/);
    await page.fill('#editor-form [name=json]', JSON.stringify({ targets: ['fake/gpt-4o-mini'], description: 'made in the console' }));
    await page.click('#editor-form button[name=save]');
    await page.locator('tr[data-item="console-vm"]').waitFor();
    const r = await chat('console-vm', 'through the new virtual model');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.headers.get('x-switchyard-route'), 'virtual:console-vm');
    await shoot(page, 'en-config-models-added');
  });

  await t.test('a routing rule added first in line routes its model', async () => {
    await visit(page, 'config/routes');
    await page.click('#add-routes');
    await page.fill('#editor-form [name=name]', 'console-rule');
    await page.fill('#editor-form [name=json]', JSON.stringify({ model: 'ruled', to: ['fake/gpt-4o-mini'], position: 0 }));
    await page.click('#editor-form button[name=save]');
    await page.locator('tr[data-item="console-rule"]').waitFor();
    assert.match(await page.textContent('tr[data-item="console-rule"]'), /model=ruled/);
    const r = await chat('ruled', 'by the rule');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.headers.get('x-switchyard-route'), 'rule:console-rule');
    page.once('dialog', (d) => d.accept());
    await page.click('tr[data-item="console-rule"] button.danger');
    await page.locator('tr[data-item="console-rule"]').waitFor({ state: 'detached' });
    assert.equal((await chat('ruled', 'no rule now')).status, 404, 'the rule is gone');
  });

  await t.test('create, refuse a duplicate, rotate and delete a virtual key', async () => {
    await visit(page, 'config/keys');
    await page.fill('#key-form [name=id]', 'console-key');
    await page.fill('#key-form [name=team]', 'research');
    await page.fill('#key-form [name=project]', 'apollo');
    await page.click('#key-form button[type=submit]');
    await page.locator('#key-plaintext').waitFor();
    const first = (await page.textContent('#key-plaintext')).trim();
    assert.ok(first.length >= 16, `a plaintext key: ${first}`);
    await page.locator('tr[data-key="console-key"]').waitFor();
    const row = await page.textContent('tr[data-key="console-key"]');
    assert.match(row, /research/);
    assert.ok(!row.includes(first), 'the list shows the key masked');
    await shoot(page, 'en-config-keys-created');
    await page.fill('#key-form [name=id]', 'console-key');
    await page.click('#key-form button[type=submit]');
    await page.locator('#key-form .field-error').waitFor();
    assert.match(await page.textContent('#key-form .field-error'), /console-key/);
    await page.click('tr[data-key="console-key"] button[name=rotate]');
    await page.waitForFunction((f) => { const k = document.querySelector('#key-plaintext'); return k && k.textContent.trim() !== f; }, first);
    page.once('dialog', (d) => d.accept());
    await page.click('tr[data-key="console-key"] button[name=delete]');
    await page.locator('tr[data-key="console-key"]').waitFor({ state: 'detached' });
    // The tab says how keys are checked; in open mode a new key comes with the server's warning.
    assert.match(await page.textContent('#key-mode'), /open/);
    await page.fill('#key-form [name=label]', 'no id given');
    await page.click('#key-form button[type=submit]');
    await page.locator('#key-warning').waitFor();
    await page.locator('tr[data-key]').first().waitFor();
    assert.match(await page.textContent('tr[data-key]'), /no id given/);
  });

  await t.test('an older gateway without the config API gets a message, not a blank page', async () => {
    const missing = (route) => route.fulfill({ status: 404, contentType: 'application/json',
      body: JSON.stringify({ error: { message: 'no route', type: 'invalid_request_error', param: null, code: 'unknown_url' } }) });
    await page.route('**/admin/providers', missing);
    await page.route('**/admin/keys', missing);
    for (const tab of ['providers', 'keys']) {
      await visit(page, 'config/' + tab);
      await page.locator('.unavailable').waitFor();
      assert.match(await page.textContent('.unavailable'), /404/);
    }
    assert.equal(await page.locator('#key-form:not([hidden])').count(), 0, 'no key form without the keys API');
    await visit(page, 'config/providers');
    assert.ok(await page.isDisabled('#add-providers'), 'nothing to add to');
    await page.unroute('**/admin/providers');
    await page.unroute('**/admin/keys');
    // The 404s were this scenario's own.
    for (let i = problems.length - 1; i >= 0; i--) if (/^HTTP 404 GET \/admin\/(providers|keys)$/.test(problems[i])) problems.splice(i, 1);
  });

  await t.test('screenshots of every page in English', async () => {
    for (const p of PAGES) {
      await visit(page, p);
      await shoot(page, 'en-' + p.replace('/', '-'));
    }
  });

  await t.test('switch to Simplified Chinese, kept on reload', async () => {
    await page.selectOption('#lang', 'zh-CN');
    await page.locator('#nav a[data-page=dashboard]:text("仪表盘")').waitFor();
    await page.reload();
    await page.locator('#main .page').waitFor();
    assert.equal(await page.textContent('#nav a[data-page=requests]'), '请求');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    // After a reload the charts start from the journal's last minutes, not empty.
    await visit(page, 'dashboard');
    await page.waitForFunction(() => Number(document.querySelector('#chart-rps canvas')?.dataset.total) > 0, null, { timeout: 5000 });
  });

  await t.test('both dictionaries have the same keys', async () => {
    const { en, zh } = await page.evaluate(async () => {
      const { dictionaries } = await import('/console/js/i18n.js');
      return { en: Object.keys(dictionaries.en).sort(), zh: Object.keys(dictionaries['zh-CN']).sort() };
    });
    assert.deepEqual(zh, en);
    assert.ok(en.length > 100);
  });

  await t.test('no English string is left on a zh page', async () => {
    const english = await page.evaluate(async () => {
      const { dictionaries } = await import('/console/js/i18n.js');
      const zh = new Set(Object.values(dictionaries['zh-CN']));
      return Object.values(dictionaries.en).filter((s) => !zh.has(s) && /[A-Za-z]{3}/.test(s));
    });
    const selector = 'header a, header button, header span, h1, h2, h3, th, button, label > span, .counter-label, p.muted, .notice, .tabs a, option, dt, .msg-role, .legend-item';
    for (const p of PAGES.concat([`requests/${xssId}`])) {
      await visit(page, p);
      const texts = await page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()).filter(Boolean));
      for (const s of texts) {
        const left = english.find((e) => s === e || (e.length > 6 && s.includes(e)));
        assert.equal(left, undefined, `English on the zh ${p} page: "${s}"`);
      }
      await shoot(page, 'zh-' + p.replace('/', '-').replace(/^requests-.*/, 'detail'));
    }
    assert.deepEqual(problems, []);
  });

  await context.close();
});

test('a Chinese browser gets Chinese at once', async () => {
  const { context, page, problems } = await openPage(browser, { locale: 'zh-CN' });
  await login(page, KEY);
  await page.locator('#main .page').waitFor();
  assert.equal(await page.textContent('#nav a[data-page=dashboard]'), '仪表盘');
  assert.equal(await page.textContent('#login h2'), '登录');
  assert.deepEqual(problems, []);
  await context.close();
});

test('loopback without an admin key needs no login', async () => {
  const { context, page, problems } = await openPage(browser, { base: OPEN_URL });
  await page.locator('#main .page-dashboard').waitFor();
  assert.equal(await page.evaluate(() => document.querySelector('#login').open), false);
  await page.locator('#live:not(.off)').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('assets carry validators, types and compression', async () => {
  const res = await fetch(`${URL_}/console/js/app.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  const etag = res.headers.get('etag');
  const again = await fetch(`${URL_}/console/js/app.js`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  const redirect = await fetch(`${URL_}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal((await fetch(`${URL_}/console/nope.js`)).status, 404);
  // The data is not: the admin API refuses the console's calls without the key.
  assert.equal((await fetch(`${URL_}/admin/records`)).status, 401);
});

test('every key the code asks for is in both dictionaries', async () => {
  const root = new URL('../../console/js/', import.meta.url);
  const files = readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.js'));
  const source = files.map((f) => readFileSync(new URL(f, root), 'utf8')).join('\n');
  globalThis.localStorage ??= { getItem: () => null };
  const { dictionaries } = await import(new URL('i18n.js', root));
  // Literal keys (`t('nav.usage')`, `['detail.duration', ...]`); prefixes joined at run time end with `.` or `_`.
  const keys = [...source.matchAll(/'([a-z]+\.[a-z0-9_]+)'/g)].map((m) => m[1])
    .filter((k) => !/\.(js|html|css|svg)$/.test(k) && !k.endsWith('_') && !k.startsWith('switchyard.'));
  assert.ok(keys.length > 150, `found ${keys.length} keys`);
  for (const lang of ['en', 'zh-CN']) {
    const missing = [...new Set(keys)].filter((k) => !(k in dictionaries[lang]));
    assert.deepEqual(missing, [], `${lang} lacks these keys`);
  }
});

test.after(() => browser.close());
