//! Spend reservations shared by a fleet (see [`crate::spend`]): each
//! in-flight request's worst-case cost is an entry in Redis, per account and
//! per key, and a new reservation fits only if the caller's room (balance,
//! or limit minus spend) minus every instance's entries still covers it.
//!
//! Layout per subject (`a:<account id>` or `k:<key hash>`), under
//! `<prefix>res:<subject>`: a hash of reservation id → amount, a sorted set
//! of reservation id → expiry (Redis server time, ms) and the running sum.
//! Every script first drops expired entries, so a crashed instance's
//! reservations vanish within a lease; live requests renew theirs.
//!
//! Settling does not delete the entry at once: it becomes the exact cost and
//! stays for [`HOLD`], longer than the cost takes to reach every instance's
//! view of the stored spend (the background writer's flush, then the 1 s
//! reload of [`crate::auth`]). Until then the spend may be counted twice,
//! which only refuses early, never spends past a limit.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::Redis;

/// How long a settled cost stays counted in Redis.
pub const HOLD: Duration = Duration::from_secs(3);

/// Drops expired entries of the subject at `KEYS[base..base+2]`; returns its sum.
const PURGE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function purge(amt, exp, sum)
  local dead = redis.call('ZRANGEBYSCORE', exp, '-inf', string.format('%d', now))
  for _, id in ipairs(dead) do
    local v = redis.call('HGET', amt, id)
    if v then
      redis.call('HDEL', amt, id)
      redis.call('DECRBY', sum, v)
    end
  end
  if #dead > 0 then redis.call('ZREMRANGEBYSCORE', exp, '-inf', string.format('%d', now)) end
  return tonumber(redis.call('GET', sum) or '0')
end
-- Numbers are passed to Redis as decimal integer strings (a Lua number
-- would be formatted as a float past 14 digits).
local function int(x) return string.format('%d', x) end
local function keep(i, ttl)
  redis.call('PEXPIRE', KEYS[i], ttl)
  redis.call('PEXPIRE', KEYS[i + 1], ttl)
  redis.call('PEXPIRE', KEYS[i + 2], ttl)
end
";

/// ARGV: id, lease ms, key ttl ms, account amount, account room, key amount,
/// key room. Returns `{1}`, or `{0, 1|2, room}`: the account (1) or the key
/// (2) cannot cover its amount once all reservations are counted.
const RESERVE: &str = r"
local id, lease, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local amounts = { tonumber(ARGV[4]), tonumber(ARGV[6]) }
local given = { ARGV[4], ARGV[6] }
local rooms = { tonumber(ARGV[5]), tonumber(ARGV[7]) }
for s = 1, 2 do
  if amounts[s] > 0 then
    local i = s * 3 - 2
    local held = purge(KEYS[i], KEYS[i + 1], KEYS[i + 2])
    local room = rooms[s] - held
    if room < amounts[s] then return { 0, s, room } end
  end
end
for s = 1, 2 do
  if amounts[s] > 0 then
    local i = s * 3 - 2
    redis.call('HSET', KEYS[i], id, given[s])
    redis.call('ZADD', KEYS[i + 1], int(now + lease), id)
    redis.call('INCRBY', KEYS[i + 2], given[s])
    keep(i, ttl)
  end
end
return { 1 }
";

/// ARGV: id, hold ms, key ttl ms, account cost, key cost, account present,
/// key present. The entry becomes the exact cost for `hold` ms (or goes, at 0).
const SETTLE: &str = r"
local id, hold, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local costs = { tonumber(ARGV[4]), tonumber(ARGV[5]) }
local given = { ARGV[4], ARGV[5] }
local present = { ARGV[6] == '1', ARGV[7] == '1' }
for s = 1, 2 do
  if present[s] then
    local i = s * 3 - 2
    local old = redis.call('HGET', KEYS[i], id)
    if old then
      if costs[s] > 0 then
        redis.call('HSET', KEYS[i], id, given[s])
        redis.call('DECRBY', KEYS[i + 2], old)
        redis.call('INCRBY', KEYS[i + 2], given[s])
        redis.call('ZADD', KEYS[i + 1], int(now + hold), id)
        keep(i, ttl)
      else
        redis.call('HDEL', KEYS[i], id)
        redis.call('ZREM', KEYS[i + 1], id)
        redis.call('DECRBY', KEYS[i + 2], old)
      end
    end
  end
end
return 1
";

/// ARGV: id, lease ms, key ttl ms, account present, key present.
const RENEW: &str = r"
local id, lease, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local present = { ARGV[4] == '1', ARGV[5] == '1' }
for s = 1, 2 do
  if present[s] then
    local i = s * 3 - 2
    redis.call('ZADD', KEYS[i + 1], 'XX', int(now + lease), id)
    keep(i, ttl)
  end
end
return 1
";

/// Which room a reservation did not fit in, and what was left of it (nano-USD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// The account's balance.
    Account(i64),
    /// The key's limit.
    Key(i64),
}

/// A subject to reserve against: its id, the amount, and the room it has
/// before any reservation (balance, or limit minus spend), nano-USD.
#[derive(Clone, Copy, Debug)]
pub struct Claim<'a> {
    /// Account id or key hash.
    pub id: &'a str,
    /// What to reserve.
    pub amount: i64,
    /// What there is.
    pub room: i64,
}

/// The fleet's reservation book.
pub struct SharedReservations {
    redis: Redis,
    reserve: redis::Script,
    settle: redis::Script,
    renew: redis::Script,
    lease: Duration,
}

impl std::fmt::Debug for SharedReservations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedReservations").field("lease", &self.lease).finish_non_exhaustive()
    }
}

impl SharedReservations {
    /// A book on `redis` whose entries live `lease` unless renewed.
    pub fn new(redis: Redis, lease: Duration) -> SharedReservations {
        let script = |body: &str| redis::Script::new(&format!("{PURGE}{body}"));
        SharedReservations {
            redis,
            reserve: script(RESERVE),
            settle: script(SETTLE),
            renew: script(RENEW),
            lease: lease.max(Duration::from_secs(1)),
        }
    }

    fn keys(&self, account: Option<&str>, key: Option<&str>) -> [String; 6] {
        let base = |s: Option<String>| s.map_or_else(|| self.redis.key("res:none"), |s| self.redis.key(&s));
        let a = base(account.map(|a| format!("res:a:{a}")));
        let k = base(key.map(|k| format!("res:k:{k}")));
        [a.clone(), format!("{a}:exp"), format!("{a}:sum"), k.clone(), format!("{k}:exp"), format!("{k}:sum")]
    }

    /// How long the subjects' keys outlive their last use.
    fn key_ttl_ms(&self) -> u64 {
        (self.lease + HOLD).as_millis() as u64 + 60_000
    }

    /// Reserves `account` and `key` claims together, or neither.
    pub async fn reserve(
        self: &Arc<Self>,
        account: Option<Claim<'_>>,
        key: Option<Claim<'_>>,
    ) -> Result<Result<Ticket, Shortfall>, redis::RedisError> {
        let id = format!("{:032x}", rand::random::<u128>());
        let mut inv = self.reserve.prepare_invoke();
        for k in self.keys(account.map(|c| c.id), key.map(|c| c.id)) {
            inv.key(k);
        }
        let lease_ms = self.lease.as_millis() as u64;
        inv.arg(&id).arg(lease_ms).arg(self.key_ttl_ms());
        for claim in [account, key] {
            let (amount, room) = claim.map_or((0, 0), |c| (c.amount.max(0), c.room));
            inv.arg(amount).arg(room);
        }
        let reply: Vec<i64> = inv.invoke_async(&mut self.redis.conn()).await?;
        match reply.as_slice() {
            [1, ..] => {}
            [0, 1, room, ..] => return Ok(Err(Shortfall::Account((*room).max(0)))),
            [0, _, room, ..] => return Ok(Err(Shortfall::Key((*room).max(0)))),
            _ => return Err(redis::RedisError::from((redis::ErrorKind::Parse, "unexpected reservation reply"))),
        }
        let account = account.filter(|c| c.amount > 0).map(|c| c.id.to_owned());
        let key = key.filter(|c| c.amount > 0).map(|c| c.id.to_owned());
        let renewal = self.spawn_renewal(&id, account.clone(), key.clone());
        Ok(Ok(Ticket { book: self.clone(), id, account, key, renewal }))
    }

    /// Renews a live reservation's lease every third of it.
    fn spawn_renewal(self: &Arc<Self>, id: &str, account: Option<String>, key: Option<String>) -> JoinHandle<()> {
        let book = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let every = book.lease / 3;
            loop {
                tokio::time::sleep(every).await;
                let mut inv = book.renew.prepare_invoke();
                for k in book.keys(account.as_deref(), key.as_deref()) {
                    inv.key(k);
                }
                inv.arg(&id).arg(book.lease.as_millis() as u64).arg(book.key_ttl_ms());
                inv.arg(u8::from(account.is_some())).arg(u8::from(key.is_some()));
                if let Err(e) = inv.invoke_async::<i64>(&mut book.redis.conn()).await {
                    tracing::warn!(error = %e, "could not renew a spend reservation");
                }
            }
        })
    }

    async fn settle(&self, t: &Ticket, account_cost: i64, key_cost: i64) -> Result<(), redis::RedisError> {
        let mut inv = self.settle.prepare_invoke();
        for k in self.keys(t.account.as_deref(), t.key.as_deref()) {
            inv.key(k);
        }
        inv.arg(&t.id).arg(HOLD.as_millis() as u64).arg(self.key_ttl_ms());
        inv.arg(account_cost.max(0)).arg(key_cost.max(0));
        inv.arg(u8::from(t.account.is_some())).arg(u8::from(t.key.is_some()));
        inv.invoke_async::<i64>(&mut self.redis.conn()).await.map(drop)
    }

    /// What is reserved (and held) against an account now, nano-USD.
    pub async fn held_by_account(&self, account: &str) -> Result<i64, redis::RedisError> {
        let sum = self.redis.key(&format!("res:a:{account}:sum"));
        let v: Option<i64> = redis::cmd("GET").arg(sum).query_async(&mut self.redis.conn()).await?;
        Ok(v.unwrap_or(0))
    }
}

/// One request's entries in the book. Settle it (or release it); dropping
/// it only stops the renewal, and the lease then ends the entries.
pub struct Ticket {
    book: Arc<SharedReservations>,
    id: String,
    account: Option<String>,
    key: Option<String>,
    renewal: JoinHandle<()>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Ticket {
    /// Replaces the reservation by the exact costs (held for [`HOLD`]), in
    /// the background: the request has ended and must not wait on Redis.
    pub fn settle(self, account_cost: i64, key_cost: i64) {
        self.renewal.abort();
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        rt.spawn(async move {
            if let Err(e) = self.book.settle(&self, account_cost, key_cost).await {
                // The lease ends the reservation instead.
                tracing::warn!(error = %e, "could not settle a spend reservation");
            }
        });
    }

    /// Settles now, waiting for Redis (tests).
    #[cfg(test)]
    pub async fn settle_now(self, account_cost: i64, key_cost: i64) {
        self.renewal.abort();
        self.book.settle(&self, account_cost, key_cost).await.unwrap();
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::TestRedis;

    fn claim(id: &str, amount: i64, room: i64) -> Option<Claim<'_>> {
        Some(Claim { id, amount, room })
    }

    #[tokio::test]
    async fn concurrent_reservations_across_books_never_exceed_the_room() {
        let Some(t) = TestRedis::start().await else { return };
        // Two instances' books over one server.
        let books = [
            Arc::new(SharedReservations::new(t.redis.clone(), Duration::from_secs(30))),
            Arc::new(SharedReservations::new(t.redis.clone(), Duration::from_secs(30))),
        ];
        let tasks: Vec<_> = (0..120)
            .map(|i| {
                let book = books[i % 2].clone();
                tokio::spawn(async move { book.reserve(claim("acct", 7, 500), claim("key", 7, 10_000)).await.unwrap() })
            })
            .collect();
        let mut tickets = Vec::new();
        for task in tasks {
            if let Ok(ticket) = task.await.unwrap() {
                tickets.push(ticket);
            }
        }
        assert_eq!(tickets.len(), 500 / 7, "exactly as many as fit in the balance");
        assert_eq!(books[0].held_by_account("acct").await.unwrap(), (500 / 7) * 7);
        let refused = books[1].reserve(claim("acct", 7, 500), None).await.unwrap();
        assert_eq!(refused.unwrap_err(), Shortfall::Account(500 - (500 / 7) * 7));
        // Releasing one (cost 0) makes room for one more.
        tickets.pop().unwrap().settle_now(0, 0).await;
        assert!(books[1].reserve(claim("acct", 7, 500), None).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_key_shortfall_reserves_nothing_on_the_account() {
        let Some(t) = TestRedis::start().await else { return };
        let book = Arc::new(SharedReservations::new(t.redis.clone(), Duration::from_secs(30)));
        let r = book.reserve(claim("a", 10, 100), claim("k", 10, 5)).await.unwrap();
        assert_eq!(r.unwrap_err(), Shortfall::Key(5));
        assert_eq!(book.held_by_account("a").await.unwrap(), 0, "all or nothing");
    }

    #[tokio::test]
    async fn settled_costs_are_held_briefly_and_crashed_reservations_expire() {
        let Some(t) = TestRedis::start().await else { return };
        let book = Arc::new(SharedReservations::new(t.redis.clone(), Duration::from_secs(1)));
        let settled = book.reserve(claim("a", 50, 100), None).await.unwrap().unwrap();
        settled.settle_now(20, 0).await;
        assert_eq!(book.held_by_account("a").await.unwrap(), 20, "the exact cost replaces the worst case");
        // A crashed instance: the ticket is dropped unsettled, nothing renews it.
        let crashed = book.reserve(claim("a", 30, 100), None).await.unwrap().unwrap();
        drop(crashed);
        assert_eq!(book.held_by_account("a").await.unwrap(), 50);
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        // The next reservation purges the expired one (the settled cost is
        // still held: HOLD is longer than the lease here).
        let next = book.reserve(claim("a", 80, 100), None).await.unwrap();
        assert!(next.is_ok(), "the lease freed the crashed reservation: {next:?}");
        tokio::time::sleep(HOLD).await;
        let after = book.reserve(claim("a", 1, 100), None).await.unwrap();
        assert!(after.is_ok());
        assert_eq!(book.held_by_account("a").await.unwrap(), 81, "the held cost is gone after HOLD");
    }

    #[tokio::test]
    async fn live_reservations_are_renewed() {
        let Some(t) = TestRedis::start().await else { return };
        let book = Arc::new(SharedReservations::new(t.redis.clone(), Duration::from_secs(1)));
        let live = book.reserve(claim("a", 60, 100), None).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let r = book.reserve(claim("a", 60, 100), None).await.unwrap();
        assert_eq!(r.unwrap_err(), Shortfall::Account(40), "still held after two leases");
        drop(live);
    }
}
