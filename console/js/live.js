// The live feed (`/admin/events`): one connection for the whole page, kept
// open with reconnects, turned into per-second series (with the last minutes
// from the journal) and counters.
import { api, stream } from './api.js';

const SECONDS = 180;      // seconds of history in the charts

const state = {
  connected: false,
  error: null,
  buckets: [],            // {t, requests, tokens, errors, durations: [], ttfts: []}
  inFlight: new Map(),    // id -> start event (+ routed)
  totals: { requests: 0, tokens: 0, errors: 0, cost: 0 },
  missed: 0,              // events the gateway dropped for this page (`lagged`)
};
const counted = new Set(); // ids already in the buckets (feed or journal)
const countedOrder = [];
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
  const from = last ? last.t + 1 : t - SECONDS + 1;
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
  } else if (kind === 'lagged') {
    // This page read too slowly and the gateway dropped events for it.
    state.missed += data.missed || 0;
  } else if (kind === 'complete') {
    state.inFlight.delete(data.id);
    const u = data.usage || {};
    const tok = (u.input_tokens || 0) + (u.output_tokens || 0);
    const failed = isError(data);
    count(bucket(Date.now()), data);
    state.totals.requests += 1; state.totals.tokens += tok;
    if (failed) state.totals.errors += 1;
    state.totals.cost += data.cost_usd || 0;
  }
  emit(kind, data);
}

/** Adds a finished exchange to a per-second bucket, once. */
function count(b, r) {
  if (!b || counted.has(r.id)) return;
  counted.add(r.id); countedOrder.push(r.id);
  if (countedOrder.length > 5000) counted.delete(countedOrder.shift());
  const u = r.usage || {};
  b.requests += 1;
  b.tokens += (u.input_tokens || 0) + (u.output_tokens || 0);
  if (isError(r)) b.errors += 1;
  if (typeof r.duration_ms === 'number') b.durations.push(r.duration_ms);
  if (typeof r.ttft_ms === 'number') b.ttfts.push(r.ttft_ms);
}

/** Fills the charts' history from the journal (exchanges that ended before the page opened). */
async function backfill(signal) {
  try {
    const since = Date.now() - SECONDS * 1000;
    const page = await api(`/admin/records?since=${since}&limit=1000`, { signal });
    bucket(Date.now());
    const byT = new Map(state.buckets.map((b) => [b.t, b]));
    for (const r of page.records || []) {
      const end = (r.ts_ms || 0) + (r.duration_ms || 0);
      count(byT.get(Math.floor(end / 1000)), r);
    }
    emit('backfill');
  } catch (e) {
    // The journal may be off: the charts start empty, from the feed.
    if (e.name !== 'AbortError') console.info('no chart history from the journal:', e.message);
  }
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
          backfill(c.signal);
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
