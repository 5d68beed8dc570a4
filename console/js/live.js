// The live feed (`/admin/events`): one connection for the whole page, kept
// open with reconnects, turned into per-second series and a list of the
// latest finished exchanges.
import { stream } from './api.js';

const SECONDS = 180;      // seconds of history in the charts
const RECENT = 500;       // finished exchanges kept for the tables

const state = {
  connected: false,
  error: null,
  buckets: [],            // {t, requests, tokens, errors, durations: [], ttfts: []}
  recent: [],             // `complete` records, newest first
  inFlight: new Map(),    // id -> start event (+ routed)
  totals: { requests: 0, tokens: 0, errors: 0, cost: 0 },
};
const subscribers = new Set();
let controller = null;

/** Calls fn(kind, data) for each feed event, and fn('status') on (dis)connects. */
export function subscribe(fn) { subscribers.add(fn); return () => subscribers.delete(fn); }
export function liveState() { return state; }

function emit(kind, data) { for (const f of subscribers) { try { f(kind, data); } catch (e) { console.error(e); } } }

function bucket(now) {
  const t = Math.floor(now / 1000);
  let last = state.buckets[state.buckets.length - 1];
  if (last && last.t === t) return last;
  // Fill quiet seconds with zeros so the time axis is even.
  const from = last ? last.t + 1 : t;
  for (let s = Math.max(from, t - SECONDS + 1); s <= t; s++) {
    last = { t: s, requests: 0, tokens: 0, errors: 0, durations: [], ttfts: [] };
    state.buckets.push(last);
  }
  while (state.buckets.length > SECONDS) state.buckets.shift();
  return last;
}

function onEvent(kind, data) {
  if (kind === 'start') {
    state.inFlight.set(data.id, data);
  } else if (kind === 'routed') {
    const s = state.inFlight.get(data.id);
    if (s) Object.assign(s, { provider: data.provider, model: data.model });
  } else if (kind === 'complete') {
    state.inFlight.delete(data.id);
    const b = bucket(Date.now());
    const u = data.usage || {};
    const tok = (u.input_tokens || 0) + (u.output_tokens || 0);
    const failed = isError(data);
    b.requests += 1; b.tokens += tok; if (failed) b.errors += 1;
    if (typeof data.duration_ms === 'number') b.durations.push(data.duration_ms);
    if (typeof data.ttft_ms === 'number') b.ttfts.push(data.ttft_ms);
    state.totals.requests += 1; state.totals.tokens += tok;
    if (failed) state.totals.errors += 1;
    state.totals.cost += data.cost_usd || 0;
    state.recent.unshift(data);
    if (state.recent.length > RECENT) state.recent.pop();
  }
  emit(kind, data);
}

/** Whether a record is a failure (an error status or an error type). */
export function isError(r) { return (r.status && r.status >= 400) || !!r.error_type; }

/** Per-second series for the last `n` seconds, up to now. */
export function series(n = 120) {
  bucket(Date.now());
  const bs = state.buckets.slice(-n);
  const window = (i, f) => bs.slice(Math.max(0, i - 9), i + 1).flatMap(f).sort((a, b) => a - b);
  const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : null);
  return {
    t: bs.map((b) => b.t),
    requests: bs.map((b) => b.requests),
    tokens: bs.map((b) => b.tokens),
    errors: bs.map((b) => b.errors),
    p50: bs.map((_, i) => pct(window(i, (b) => b.durations), 0.5)),
    p95: bs.map((_, i) => pct(window(i, (b) => b.durations), 0.95)),
    ttft: bs.map((_, i) => pct(window(i, (b) => b.ttfts), 0.5)),
  };
}

/** Opens the feed (again): call after login. Reconnects until stop(). */
export function start() {
  stop();
  const c = new AbortController();
  controller = c;
  (async () => {
    let delay = 500;
    while (!c.signal.aborted) {
      try {
        await stream('/admin/events', onEvent, c.signal, () => {
          state.connected = true; state.error = null; delay = 500; emit('status');
        });
      } catch (e) {
        if (c.signal.aborted) break;
        state.error = e;
        if (e.status === 401 || e.status === 403) { state.connected = false; emit('status'); return; }
      }
      state.connected = false; emit('status');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  })();
}

export function stop() {
  if (controller) controller.abort();
  controller = null;
  state.connected = false;
}
