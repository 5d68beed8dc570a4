//! [`RequestContext`]: the one typed record each request carries through the stack.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

use crate::error::Error;
use crate::outcome::{Cost, ErrorClass};
use crate::protocol::Endpoint;

/// A request's id: 26 Crockford base32 characters, sortable by time (ULID layout).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// A new id for a request received at `now`.
    pub fn generate(now: SystemTime) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let seed = *SEED.get_or_init(|| {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                now.duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos(),
            );
            h.finish()
        });
        let ms = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // 48 bits of time, then 80 bits: 16 of process seed and 64 of seed-mixed counter.
        let rand = ((seed as u128 & 0xffff) << 64) | u128::from(seed.rotate_left(17) ^ n);
        let value = (u128::from(ms & 0xffff_ffff_ffff) << 80) | rand;
        const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut out = [0u8; 26];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 125 - 5 * i as u32;
            *slot = ALPHABET[((value >> shift) & 31) as usize];
        }
        RequestId(Arc::from(std::str::from_utf8(&out).unwrap_or("0")))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Who the caller is; written by the auth layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The id of the virtual key used (never the key itself).
    pub key_id: Option<String>,
    /// A label for logs and the console.
    pub label: Option<String>,
    /// The team the key belongs to.
    pub team: Option<String>,
    /// The project the key belongs to.
    pub project: Option<String>,
    /// Model globs the key may use; empty means every model.
    pub allowed_models: Vec<String>,
    /// The key's own rate limits and budgets (team and model limits are the limiter's config).
    pub quota: Quota,
    /// Provider credentials the key brings, by provider id, used instead of the provider's own.
    pub provider_keys: ProviderKeys,
}

/// Rate limits and budgets of one caller; `None` is unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Requests per minute.
    pub requests_per_minute: Option<u64>,
    /// Tokens (input + output) per minute.
    pub tokens_per_minute: Option<u64>,
    /// Spend per UTC day.
    pub budget_daily: Option<crate::Cost>,
    /// Spend per UTC calendar month.
    pub budget_monthly: Option<crate::Cost>,
}

/// Provider credentials by provider id; their values never show in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProviderKeys(Arc<std::collections::BTreeMap<String, String>>);

impl ProviderKeys {
    /// Credentials from `(provider id, key)` pairs.
    pub fn new(keys: impl IntoIterator<Item = (String, String)>) -> Self {
        ProviderKeys(Arc::new(keys.into_iter().collect()))
    }

    /// The key to use for `provider`, if the caller brought one.
    pub fn get(&self, provider: &str) -> Option<&str> {
        self.0.get(provider).map(String::as_str)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Attribution the client declared with `x-source` / `x-project` headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    /// `x-source`: the calling application or agent.
    pub source: Option<String>,
    /// `x-project`: the project the call is for.
    pub project: Option<String>,
}

impl Attribution {
    /// Reads `x-source` and `x-project` (trimmed, at most 128 bytes each).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= 128)
                .map(str::to_owned)
        };
        Attribution {
            source: get("x-source"),
            project: get("x-project"),
        }
    }
}

/// One place a request may be sent: a provider and the model name it knows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// The provider's id, as configured.
    pub provider: Arc<str>,
    /// The model name to send to that provider.
    pub model: Arc<str>,
    /// The parameter profile to apply for this candidate (a virtual model's or a rule's), if any.
    pub profile: Option<Arc<str>>,
}

impl Candidate {
    /// A candidate for `provider` serving `model`.
    pub fn new(provider: impl Into<Arc<str>>, model: impl Into<Arc<str>>) -> Self {
        Candidate {
            provider: provider.into(),
            model: model.into(),
            profile: None,
        }
    }

    /// The same candidate with a parameter profile to apply.
    pub fn with_profile(mut self, profile: impl Into<Arc<str>>) -> Self {
        self.profile = Some(profile.into());
        self
    }
}

/// What the route layer decided; written by the route layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteDecision {
    /// The model the client asked for.
    pub requested_model: Arc<str>,
    /// The rule (or provider glob) that matched, for journals and headers.
    pub rule: Arc<str>,
    /// Where to send the request, best first; never empty.
    pub candidates: Vec<Candidate>,
}

/// Token counts of one exchange, normalised across providers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Completion tokens, reasoning ones included.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_tokens: u64,
    /// Completion tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// Whether the counts are estimates (the provider reported none).
    pub estimated: bool,
}

/// One try at one candidate; recorded by the failover layer (or the provider set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Where it went.
    pub candidate: Candidate,
    /// The upstream's HTTP status, if it answered.
    pub status: Option<u16>,
    /// The failure, if any (an error kind's name or the upstream error type).
    pub error: Option<String>,
    /// Time from sending to the answer's head (or the failure).
    pub duration: Duration,
}

/// What inner layers learn about a request that outer layers read after the response.
///
/// Response extensions are not carried through axum, so this travels as a
/// shared handle inside the [`RequestContext`]: the provider set, failover and
/// usage layers fill it; the recorder reads it when the stream ends.
#[derive(Debug, Default)]
pub struct Exchange {
    state: Mutex<ExchangeState>,
}

/// A snapshot of an [`Exchange`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExchangeState {
    /// The candidate that produced the answer the client got.
    pub served_by: Option<Candidate>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// Token usage, once known.
    pub usage: Option<Usage>,
    /// Tags the response classifiers gave the answer.
    pub response_tags: Vec<Arc<str>>,
    /// Prompt tokens written to the provider's cache (billed at a premium by some), once known.
    pub cache_write_tokens: u64,
    /// Why the answer ended, as the provider said (`stop`, `length`, `end_turn` ...).
    pub finish_reason: Option<Arc<str>>,
    /// The model the upstream says answered (may be more specific than the one sent).
    pub response_model: Option<Arc<str>>,
    /// When the first token of the answer was seen (usage layer).
    pub first_token_at: Option<Instant>,
    /// The price of the exchange, once known (usage layer).
    pub cost: Option<Cost>,
    /// The answer's text, assembled by the usage layer up to [`capture_limit`](Self::capture_limit) bytes.
    pub output_text: Option<Arc<str>>,
    /// Whether `output_text` was cut at the limit.
    pub output_truncated: bool,
    /// How many bytes of answer text the recorder wants assembled (0: none).
    pub capture_limit: usize,
    /// Time spent waiting on the upstream after the response head, by layers
    /// that read a whole answer before passing it on (the usage layer does for
    /// non-streamed answers); excluded from the gateway's overhead.
    pub upstream_body_wait: Duration,
    /// The class of failure, when a layer knows it better than the status does.
    pub error_class: Option<ErrorClass>,
    /// The caller, mirrored from the context when the auth layer sets it.
    pub identity: Option<Arc<Identity>>,
    /// The route decision, mirrored from the context when the route layer sets it.
    pub route: Option<Arc<RouteDecision>>,
    /// The request's tags, mirrored from the context as classifiers add them.
    pub tags: Vec<Arc<str>>,
    /// What the prompt guard found in the request (never the values themselves).
    pub guard_findings: Vec<GuardFinding>,
    /// The request body with every guard finding redacted: what journals keep
    /// instead of the client's body when the guard found something.
    pub guard_request_body: Option<bytes::Bytes>,
    /// Redacts what the guard finds in the answer journals keep (set when the
    /// prompt had findings, so a model repeating a secret does not journal it).
    pub guard_redactor: Option<TextRedactor>,
    /// How many characters of the answer's start a layer outside the usage
    /// layer wants in an [`AnswerDigest`] (`None`: no digest wanted).
    pub answer_start_wanted: Option<usize>,
    /// The usage layer is reading this answer and will write its
    /// [`AnswerDigest`] when the answer ends (set before the response goes
    /// out of the usage layer, so only layers outside it see it set).
    pub answer_watched: bool,
    /// The usage layer is reading this answer and will set its
    /// [`usage`](Self::usage) when it ends (set as it takes the answer on,
    /// digest wanted or not), so layers outside need not look for token counts.
    pub answer_accounted: bool,
    /// What the usage layer read of the answer for the layers outside it.
    pub answer_digest: Option<AnswerDigest>,
}

/// What the usage layer, which parses every answer, reports of it for the
/// response classifiers outside it, so they need not parse it again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnswerDigest {
    /// The start of the answer's text (see [`AnswerStart`]).
    pub start: Arc<str>,
    /// The provider flagged a refusal (OpenAI's `refusal`, a Responses
    /// refusal part).
    pub refused: bool,
}

/// The start of an answer's text: leading white space left out, then up to
/// a number of characters; what the refusal classifier reads.
#[derive(Clone, Debug, Default)]
pub struct AnswerStart {
    text: String,
    kept: usize,
    want: usize,
}

impl AnswerStart {
    /// Keeps up to `chars` characters.
    pub fn new(chars: usize) -> Self {
        AnswerStart {
            text: String::new(),
            kept: 0,
            want: chars,
        }
    }

    /// Adds the next piece of the answer's text.
    pub fn push(&mut self, s: &str) {
        if self.is_full() {
            return;
        }
        let s = if self.kept == 0 { s.trim_start() } else { s };
        if s.is_empty() {
            return;
        }
        let room = self.want - self.kept;
        // A piece of no more bytes than there is room for characters fits
        // whole; a longer one is cut after `room` characters.
        let piece = if s.len() <= room {
            s
        } else if s.as_bytes()[..room].is_ascii() {
            // `room` ASCII characters: the cut is at byte `room`, a boundary.
            &s[..room]
        } else {
            s.char_indices().nth(room).map_or(s, |(at, _)| &s[..at])
        };
        if self.text.capacity() == 0 {
            self.text.reserve(self.want);
        }
        self.text.push_str(piece);
        self.kept += piece.chars().count();
    }

    /// Whether as many characters as wanted are kept.
    pub fn is_full(&self) -> bool {
        self.kept >= self.want
    }

    /// What is kept.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How many characters are kept.
    pub fn chars(&self) -> usize {
        self.kept
    }
}

/// A function that redacts secrets in a text, or says there are none (`None`).
#[derive(Clone)]
pub struct TextRedactor(Arc<RedactFn>);

type RedactFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl TextRedactor {
    /// A redactor calling `f`.
    pub fn new(f: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        TextRedactor(Arc::new(f))
    }

    /// `text` with its secrets redacted, or `None` when it has none.
    pub fn redact(&self, text: &str) -> Option<String> {
        (self.0)(text)
    }
}

impl fmt::Debug for TextRedactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TextRedactor")
    }
}

impl PartialEq for TextRedactor {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TextRedactor {}

/// One thing the prompt guard found in a request: its kind and place, never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardFinding {
    /// What was found (`aws_access_key`, `email`, `card_number` ...).
    pub kind: &'static str,
    /// Where: a JSON pointer to the string in the request body (`/messages/1/content`).
    pub field: Arc<str>,
    /// Byte offset of the finding in that string.
    pub offset: usize,
    /// Its length in bytes.
    pub length: usize,
    /// What the guard did: `log`, `redact` or `block`.
    pub action: &'static str,
}

impl Exchange {
    fn lock(&self) -> MutexGuard<'_, ExchangeState> {
        // A panic while holding this lock cannot leave the plain data inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an attempt; the last successful one is who served the request.
    pub fn record_attempt(&self, attempt: Attempt) {
        let mut s = self.lock();
        if attempt.error.is_none() {
            s.served_by = Some(attempt.candidate.clone());
        }
        s.attempts.push(attempt);
    }

    /// Sets the usage of the answer.
    pub fn set_usage(&self, usage: Usage) {
        self.lock().usage = Some(usage);
    }

    /// Adds a response tag.
    pub fn add_response_tag(&self, tag: impl Into<Arc<str>>) {
        self.lock().response_tags.push(tag.into());
    }

    /// Records prompt tokens written to the provider's cache.
    pub fn set_cache_write_tokens(&self, tokens: u64) {
        self.lock().cache_write_tokens = tokens;
    }

    /// Records why the answer ended.
    pub fn set_finish_reason(&self, reason: impl Into<Arc<str>>) {
        self.lock().finish_reason = Some(reason.into());
    }

    /// Records the model the upstream says answered.
    pub fn set_response_model(&self, model: impl Into<Arc<str>>) {
        self.lock().response_model = Some(model.into());
    }

    /// Records when the first token was seen; later calls keep the first time.
    pub fn mark_first_token(&self, at: Instant) {
        self.lock().first_token_at.get_or_insert(at);
    }

    /// When the first token was seen, if it was.
    pub fn first_token_at(&self) -> Option<Instant> {
        self.lock().first_token_at
    }

    /// The usage and price recorded so far, without copying the rest (limits settle with them).
    pub fn usage_and_cost(&self) -> (Option<Usage>, Option<Cost>) {
        let s = self.lock();
        (s.usage, s.cost)
    }

    /// Records the price of the exchange.
    pub fn set_cost(&self, cost: Cost) {
        self.lock().cost = Some(cost);
    }

    /// Records the answer's text (already capped at the capture limit).
    pub fn set_output_text(&self, text: impl Into<Arc<str>>, truncated: bool) {
        let mut s = self.lock();
        s.output_text = Some(text.into());
        s.output_truncated = truncated;
    }

    /// Asks layers that assemble the answer's text to keep up to `bytes` of it.
    pub fn set_capture_limit(&self, bytes: usize) {
        self.lock().capture_limit = bytes;
    }

    /// How many bytes of answer text to assemble (0: none).
    pub fn capture_limit(&self) -> usize {
        self.lock().capture_limit
    }

    /// Adds time spent waiting on the upstream's body.
    pub fn add_upstream_body_wait(&self, wait: Duration) {
        self.lock().upstream_body_wait += wait;
    }

    /// Records the prompt guard's findings and the request body with all of them
    /// redacted (for journals; `None` keeps the client's body).
    pub fn set_guard(&self, findings: Vec<GuardFinding>, redacted_body: Option<bytes::Bytes>) {
        let mut s = self.lock();
        s.guard_findings = findings;
        s.guard_request_body = redacted_body;
    }

    /// Sets what redacts the answer's text before journals keep it (guard layer).
    pub fn set_guard_redactor(&self, redactor: TextRedactor) {
        self.lock().guard_redactor = Some(redactor);
    }

    /// Records the class of failure (a layer that refused or broke the exchange).
    pub fn set_error_class(&self, class: ErrorClass) {
        self.lock().error_class = Some(class);
    }

    /// Asks the usage layer inside for an [`AnswerDigest`] with up to
    /// `chars` characters of the answer's start (the largest ask wins).
    pub fn want_answer_digest(&self, chars: usize) {
        let mut s = self.lock();
        s.answer_start_wanted = Some(s.answer_start_wanted.map_or(chars, |c| c.max(chars)));
    }

    /// Called by the usage layer as it takes an answer on: the characters of
    /// the answer's start wanted, if a digest is wanted; the answer is then
    /// marked as accounted, and as watched if a digest is wanted.
    pub fn watch_answer(&self) -> Option<usize> {
        let mut s = self.lock();
        s.answer_accounted = true;
        let wanted = s.answer_start_wanted;
        if wanted.is_some() {
            s.answer_watched = true;
        }
        wanted
    }

    /// Whether the usage layer is reading the answer and will write its digest.
    pub fn answer_watched(&self) -> bool {
        self.lock().answer_watched
    }

    /// Whether the usage layer is reading the answer and will set its usage.
    pub fn answer_accounted(&self) -> bool {
        self.lock().answer_accounted
    }

    /// Records the answer's digest (usage layer, when the answer ends).
    pub fn set_answer_digest(&self, digest: AnswerDigest) {
        self.lock().answer_digest = Some(digest);
    }

    /// The answer's digest and finish reason, once the usage layer wrote them.
    pub fn answer_digest(&self) -> Option<(AnswerDigest, Option<Arc<str>>)> {
        let s = self.lock();
        s.answer_digest
            .clone()
            .map(|d| (d, s.finish_reason.clone()))
    }

    /// Who served the request, without copying the rest.
    pub fn served_by(&self) -> Option<Candidate> {
        self.lock().served_by.clone()
    }

    /// How many attempts were made.
    pub fn attempt_count(&self) -> usize {
        self.lock().attempts.len()
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> ExchangeState {
        self.lock().clone()
    }

    /// Reads everything recorded so far without copying it: `read` runs
    /// with the record locked, so it should be short (no await, no I/O).
    pub fn inspect<R>(&self, read: impl FnOnce(&ExchangeState) -> R) -> R {
        read(&self.lock())
    }
}

/// The per-request record, in the request extensions; inserted by [`ParseLayer`](crate::ParseLayer).
///
/// Each field has one writer: parse (id, timing, endpoint, attribution), auth
/// (identity), classify (tags), route (decision), failover (target). Readers
/// get typed accessors; a field a layer needs but no layer wrote is a loud
/// internal error (a 500 naming the missing layer), never a panic.
/// Cloning shares the [`Exchange`] handle, so every attempt of a retried
/// request reports into the same record.
#[derive(Clone, Debug)]
pub struct RequestContext {
    id: RequestId,
    received_at: SystemTime,
    started: Instant,
    endpoint: Endpoint,
    attribution: Attribution,
    identity: Option<Arc<Identity>>,
    tags: Vec<Arc<str>>,
    route: Option<Arc<RouteDecision>>,
    target: Option<Candidate>,
    exchange: Arc<Exchange>,
}

impl RequestContext {
    /// A fresh context for a request to `endpoint` received now.
    pub fn new(endpoint: Endpoint) -> Self {
        let received_at = SystemTime::now();
        RequestContext {
            id: RequestId::generate(received_at),
            received_at,
            started: Instant::now(),
            endpoint,
            attribution: Attribution::default(),
            identity: None,
            tags: Vec::new(),
            route: None,
            target: None,
            exchange: Arc::default(),
        }
    }

    /// Sets the attribution headers' values (parse layer).
    pub fn with_attribution(mut self, attribution: Attribution) -> Self {
        self.attribution = attribution;
        self
    }

    /// The request id.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// Wall-clock time the request was received.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// Monotonic time the request was received.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The endpoint called.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// `x-source` / `x-project` as the client sent them.
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    /// The caller, if an auth layer ran.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_deref()
    }

    /// Sets the caller (auth layer).
    pub fn set_identity(&mut self, identity: Identity) {
        self.set_shared_identity(Arc::new(identity));
    }

    /// Sets the caller from a shared identity, without copying it (auth layer).
    pub fn set_shared_identity(&mut self, identity: Arc<Identity>) {
        self.exchange.lock().identity = Some(identity.clone());
        self.identity = Some(identity);
    }

    /// The request's tags (empty if no classifier ran).
    pub fn tags(&self) -> &[Arc<str>] {
        &self.tags
    }

    /// Adds a tag (classify layer); duplicates are ignored.
    pub fn add_tag(&mut self, tag: impl Into<Arc<str>>) {
        let tag = tag.into();
        if !self.tags.contains(&tag) {
            self.exchange.lock().tags.push(tag.clone());
            self.tags.push(tag);
        }
    }

    /// The route decision, or an internal error if no route layer ran.
    pub fn route(&self) -> Result<&RouteDecision, Error> {
        self.route
            .as_deref()
            .ok_or_else(|| Error::internal("no route decision: is a RouteLayer in the stack?"))
    }

    /// Sets the route decision (route layer).
    pub fn set_route(&mut self, decision: RouteDecision) {
        let decision = Arc::new(decision);
        self.exchange.lock().route = Some(decision.clone());
        self.route = Some(decision);
    }

    /// The candidate this attempt goes to: the one failover picked, else the route's first.
    pub fn target(&self) -> Result<&Candidate, Error> {
        if let Some(t) = &self.target {
            return Ok(t);
        }
        self.route()?
            .candidates
            .first()
            .ok_or_else(|| Error::unavailable("the route decision has no candidates"))
    }

    /// Points this attempt at a candidate (failover layer).
    pub fn set_target(&mut self, candidate: Candidate) {
        self.target = Some(candidate);
    }

    /// The shared handle inner layers fill and outer layers read after the response.
    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.exchange
    }

    /// Time since the request was received.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_start_keeps_characters_not_bytes_across_pieces() {
        // Character by character, as it was kept before: the reference.
        let reference = |pieces: &[&str], want: usize| {
            let mut text = String::new();
            let mut kept = 0;
            for p in pieces {
                let p = if kept == 0 { p.trim_start() } else { p };
                for c in p.chars().take(want - kept) {
                    text.push(c);
                    kept += 1;
                }
            }
            (text, kept)
        };
        let cases: &[&[&str]] = &[
            &["  \n hello", " world"],
            &["é😀日本語", "ab", "çd"],
            &["", "   ", "x"],
            &["😀😀😀😀😀😀😀😀😀😀😀"],
            &["abc", "defghijkl", "mnop"],
            // ASCII up to a multi-byte character at or just past the cut.
            &["abcdefghij\u{e9}\u{1f600}xyz"],
            &["abcd", "efgh\u{e9}ij", "\u{1f600}klmnop"],
        ];
        for pieces in cases {
            for want in 0..12 {
                let mut start = AnswerStart::new(want);
                for p in *pieces {
                    start.push(p);
                }
                let (text, kept) = reference(pieces, want);
                assert_eq!(
                    (start.as_str(), start.chars()),
                    (text.as_str(), kept),
                    "{pieces:?} {want}"
                );
                assert_eq!(start.is_full(), kept == want);
            }
        }
    }

    #[test]
    fn ids_are_unique_and_sortable() {
        let t = SystemTime::now();
        let a = RequestId::generate(t);
        let b = RequestId::generate(t + Duration::from_millis(1));
        assert_eq!(a.as_str().len(), 26);
        assert_ne!(a, RequestId::generate(t));
        assert!(a < b, "{a} < {b}");
    }

    #[test]
    fn missing_route_is_an_internal_error_not_a_panic() {
        let ctx = RequestContext::new(Endpoint::ChatCompletions);
        let e = ctx.target().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Internal);
        assert_eq!(e.to_rejection().status(), 500);
    }

    #[test]
    fn clones_share_the_exchange() {
        let mut ctx = RequestContext::new(Endpoint::ChatCompletions);
        ctx.set_route(RouteDecision {
            requested_model: "m".into(),
            rule: "p".into(),
            candidates: vec![Candidate::new("a", "m"), Candidate::new("b", "m")],
        });
        assert_eq!(ctx.target().unwrap().provider.as_ref(), "a");
        let mut attempt = ctx.clone();
        attempt.set_target(Candidate::new("b", "m"));
        attempt.exchange().record_attempt(Attempt {
            candidate: attempt.target().unwrap().clone(),
            status: Some(200),
            error: None,
            duration: Duration::from_millis(3),
        });
        let s = ctx.exchange().snapshot();
        assert_eq!(s.served_by.unwrap().provider.as_ref(), "b");
        assert_eq!(s.attempts.len(), 1);
    }

    #[test]
    fn attribution_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-source", " cli ".parse().unwrap());
        h.insert("x-project", "".parse().unwrap());
        let a = Attribution::from_headers(&h);
        assert_eq!(a.source.as_deref(), Some("cli"));
        assert_eq!(a.project, None);
    }

    #[test]
    fn an_answer_start_skips_leading_space_and_stops_at_its_size() {
        let mut start = AnswerStart::new(5);
        start.push(" \n ");
        start.push("  h\u{e9}llo world");
        assert_eq!(
            (start.as_str(), start.chars(), start.is_full()),
            ("h\u{e9}llo", 5, true)
        );
        start.push("more");
        assert_eq!(start.as_str(), "h\u{e9}llo");
        let mut none = AnswerStart::new(0);
        none.push("text");
        assert!(none.is_full() && none.as_str().is_empty());
    }

    #[test]
    fn only_a_usage_layer_inside_the_asker_watches_the_answer() {
        // Inside: the classifier asks first, then usage takes the answer on.
        let ex = Exchange::default();
        assert!(!ex.answer_watched());
        ex.want_answer_digest(10);
        ex.want_answer_digest(4);
        assert_eq!(ex.watch_answer(), Some(10));
        assert!(ex.answer_watched());
        assert_eq!(ex.answer_digest(), None);
        ex.set_finish_reason("length");
        ex.set_answer_digest(AnswerDigest {
            start: "ok".into(),
            refused: true,
        });
        let (digest, finish) = ex.answer_digest().unwrap();
        assert_eq!(
            (&*digest.start, digest.refused, finish.as_deref()),
            ("ok", true, Some("length"))
        );
        // Outside, or nobody asked: nothing is watched.
        let ex = Exchange::default();
        assert_eq!(ex.watch_answer(), None);
        assert!(!ex.answer_watched());
    }
}
