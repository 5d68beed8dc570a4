// The admin API client: the admin key lives in sessionStorage and goes out as
// `Authorization: Bearer`; a 401 asks for it again.

const KEY = 'switchyard.adminKey';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
    this.field = body && body.error && body.error.field ? body.error.field : null;
  }
  /** The endpoint does not exist on this gateway (an older build): the router's own 404. */
  get missing() { return this.status === 404 && !!(this.body && this.body.error && this.body.error.code === 'unknown_url'); }
}

const listeners = { unauthorized: [] };

/** Calls `fn` whenever the admin API refuses the key (or its absence). */
export function onUnauthorized(fn) { listeners.unauthorized.push(fn); }

export function adminKey() { return sessionStorage.getItem(KEY) || ''; }
export function setAdminKey(k) {
  if (k) sessionStorage.setItem(KEY, k); else sessionStorage.removeItem(KEY);
}

function headers(extra) {
  const h = Object.assign({ accept: 'application/json' }, extra || {});
  const k = adminKey();
  if (k) h.authorization = 'Bearer ' + k;
  return h;
}

/** JSON request to the gateway; throws ApiError with the server's message. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, headers: headers(body !== undefined ? { 'content-type': 'application/json' } : {}), signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, e.message || String(e), null);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    if (res.status === 401) listeners.unauthorized.forEach((f) => f());
    const msg = (data && data.error && (data.error.message || data.error)) || text || res.statusText;
    throw new ApiError(res.status, typeof msg === 'string' ? msg : JSON.stringify(msg), data);
  }
  return data;
}

/**
 * Reads an SSE endpoint through fetch (EventSource cannot send headers),
 * calling onEvent(name, data) for each event, until `signal` aborts.
 * Resolves when the stream ends; rejects on HTTP or network errors.
 */
export async function stream(path, onEvent, signal, onOpen) {
  const res = await fetch(path, { headers: headers({ accept: 'text/event-stream' }), signal });
  if (!res.ok) {
    if (res.status === 401) listeners.unauthorized.forEach((f) => f());
    throw new ApiError(res.status, res.statusText, null);
  }
  if (onOpen) onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const raw = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = 'message';
      const data = [];
      for (const line of raw.split('\n')) {
        if (line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') name = val;
        else if (field === 'data') data.push(val);
      }
      if (!data.length) continue;
      let parsed;
      try { parsed = JSON.parse(data.join('\n')); } catch { continue; }
      onEvent(name, parsed);
    }
  }
}
