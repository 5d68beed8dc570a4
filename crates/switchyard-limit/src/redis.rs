//! [`RedisStore`]: limits kept in Redis, taken and given back atomically by Lua scripts.
//!
//! Keys are `switchyard:limit:<name>:<window>`, each an integer count that
//! expires two window lengths after its last change. The scripts run through
//! `EVALSHA` (loaded on first use, again after a Redis restart).

use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::store::{Limit, Remote, StoreError, Taken};

/// Takes up to ARGV[2] units under the cap ARGV[1] (all of them when ARGV[3]
/// is 1), counting the previous window (KEYS[2]) weighted by ARGV[4] / 60000,
/// rounded up. Returns {granted, previous count, current count}.
const TAKE: &str = r"
local cap = tonumber(ARGV[1])
local ask = tonumber(ARGV[2])
local weight = tonumber(ARGV[4])
local curr = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = 0
if weight > 0 then
  prev = tonumber(redis.call('GET', KEYS[2]) or '0')
end
local used = curr + math.floor((prev * weight + 59999) / 60000)
local grant = ask
if ARGV[3] ~= '1' then
  local room = cap - used
  if room < 0 then room = 0 end
  if grant > room then grant = room end
end
if grant > 0 then
  curr = redis.call('INCRBY', KEYS[1], grant)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return {grant, prev, curr}
";

/// Gives back up to ARGV[1] units of KEYS[1] (never below zero).
const GIVE: &str = r"
local curr = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if n > curr then n = curr end
if n > 0 then redis.call('DECRBY', KEYS[1], n) end
return n
";

/// Limits in Redis, behind a reconnecting connection manager (made on first
/// use, inside the runtime).
pub struct RedisStore {
    client: redis::Client,
    conn: tokio::sync::OnceCell<ConnectionManager>,
    take: Script,
    give: Script,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never shown.
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store at `url` (`redis://host:port/db`), connecting on first use;
    /// each call fails after `timeout`.
    pub fn open(url: &str, timeout: Duration) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("[limits] redis_url: {e}"))?;
        Ok(RedisStore {
            client,
            conn: tokio::sync::OnceCell::new(),
            take: Script::new(TAKE),
            give: Script::new(GIVE),
            timeout,
        })
    }

    fn key(limit: &Limit, window: u64) -> String {
        format!("switchyard:limit:{}:{window}", limit.name)
    }

    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .map_err(|e| StoreError(format!("redis: {e}")))?;
        Ok(conn.clone())
    }

    async fn bounded<T>(
        &self,
        f: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StoreError(format!("redis: {e}"))),
            Err(_) => Err(StoreError(format!(
                "redis: no answer within {:?}",
                self.timeout
            ))),
        }
    }
}

impl Remote for RedisStore {
    fn take<'a>(
        &'a self,
        limit: &'a Limit,
        window: u64,
        ask: u64,
        force: bool,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Taken, StoreError>> {
        Box::pin(async move {
            let weight = if limit.period.slides() {
                60_000 - now_ms % 60_000
            } else {
                0
            };
            let mut conn = self.conn().await?;
            let mut call = self.take.prepare_invoke();
            call.key(Self::key(limit, window))
                .key(Self::key(limit, window.saturating_sub(1)))
                .arg(limit.cap)
                .arg(ask)
                .arg(if force { "1" } else { "0" })
                .arg(weight)
                .arg(limit.period.ttl_ms());
            let (granted, prev, curr): (u64, u64, u64) =
                self.bounded(call.invoke_async(&mut conn)).await?;
            Ok(Taken {
                granted,
                prev,
                curr,
            })
        })
    }

    fn give<'a>(
        &'a self,
        limit: &'a Limit,
        window: u64,
        amount: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let mut call = self.give.prepare_invoke();
            call.key(Self::key(limit, window)).arg(amount);
            let _: u64 = self.bounded(call.invoke_async(&mut conn)).await?;
            Ok(())
        })
    }
}
