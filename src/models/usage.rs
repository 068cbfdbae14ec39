//! Writing gathered usage — of API keys, and of integrations (calls made through them): last
//! use per object, and requests per object and hour, for many objects at once (the in-memory
//! buffer that gathers them is `keycheck/usage.rs`).

use std::net::IpAddr;

use diesel::prelude::*;

use crate::db::schema::{api_key_usage, api_keys, integrations, team_usage};
use crate::db::{DbConnection, write_tx};

/// What is counted: each has a table with `last_used_at` and an hourly usage table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// API keys (last use also records the address).
    ApiKeys,
    /// Integrations (calls made through them).
    Integrations,
}

impl Counted {
    /// The objects' table.
    fn table(self) -> &'static str {
        match self {
            Counted::ApiKeys => "api_keys",
            Counted::Integrations => "integrations",
        }
    }

    /// The hourly usage table and its object column.
    fn usage(self) -> (&'static str, &'static str) {
        match self {
            Counted::ApiKeys => ("api_key_usage", "api_key_id"),
            Counted::Integrations => ("integration_usage", "integration_id"),
        }
    }

    /// `, last_used_ip = v.ip` where the address is kept.
    fn ip_set(self) -> &'static str {
        match self {
            Counted::ApiKeys => ", last_used_ip = v.ip",
            Counted::Integrations => "",
        }
    }

    /// Which of `ids` still exist, with their teams.
    fn live(self, c: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<(String, String)>> {
        match self {
            Counted::ApiKeys => api_keys::table
                .filter(api_keys::id.eq_any(ids))
                .select((api_keys::id, api_keys::team_id))
                .load(c),
            Counted::Integrations => integrations::table
                .filter(integrations::id.eq_any(ids))
                .select((integrations::id, integrations::team_id))
                .load(c),
        }
    }
}

/// What became of a request made with a known key. Accepted requests are its use; the
/// refusals are counted beside them (a sudden run of them is a sign of misuse).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Admitted.
    Accepted,
    /// Refused: the key lacks the scope.
    Scope,
    /// Refused: the address is not on the key's allowlist.
    Address,
    /// Refused: over its rate limit.
    RateLimit,
    /// Refused: the key has expired.
    Expired,
}

impl Outcome {
    /// Every outcome, in the order of their columns and chart layers.
    pub const ALL: [Outcome; 5] = [
        Outcome::Accepted,
        Outcome::Scope,
        Outcome::Address,
        Outcome::RateLimit,
        Outcome::Expired,
    ];
}

/// Requests by outcome (indexed by `Outcome as usize`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcomes(pub [u32; 5]);

impl Outcomes {
    /// One request with `outcome`.
    pub fn one(outcome: Outcome) -> Self {
        let mut n = Self::default();
        n.0[outcome as usize] = 1;
        n
    }

    /// One more with `outcome`.
    pub fn bump(&mut self, outcome: Outcome) {
        let n = &mut self.0[outcome as usize];
        *n = n.saturating_add(1);
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &Outcomes) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.saturating_add(b);
        }
    }

    /// The count of `outcome`.
    pub fn of(&self, outcome: Outcome) -> i64 {
        i64::from(self.0[outcome as usize])
    }
}

/// One object's usage since the last flush.
pub struct KeyUsage<'a> {
    /// The key's (or integration's) id.
    pub id: &'a str,
    /// Its latest use, Unix seconds.
    pub last_used_at: i64,
    /// From where.
    pub last_ip: Option<IpAddr>,
    /// Requests per hour start, by outcome (integrations count accepted calls only).
    pub per_hour: &'a [(i64, Outcomes)],
}

/// Ids per existence query.
const ID_CHUNK: usize = 500;

/// Rows per multi-row UPDATE / upsert: one prepared statement per chunk instead of two per key
/// (re-preparing per key was 13–20 % of server CPU under load), well under SQLite's and
/// PostgreSQL's bind-parameter limits (3 per row).
const ROWS_PER_STATEMENT: usize = 200;

/// `(?, ?, ?), (?, ?, ?)…` for SQLite; `($1::text, $2::bigint, $3::text)…` for PostgreSQL, whose
/// VALUES list needs the types spelled out. One tuple of `types.len()` values per row.
fn values_list(rows: usize, types: &[&str], pg: bool) -> String {
    let width = types.len();
    let mut out = String::with_capacity(rows * width * 12);
    for r in 0..rows {
        out.push_str(if r > 0 { ", (" } else { "(" });
        for (i, t) in types.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if pg {
                out.push_str(&format!("${}::{t}", r * width + i + 1));
            } else {
                out.push('?');
            }
        }
        out.push(')');
    }
    out
}

/// Last use per object, newest wins (a slower node's older flush never moves it backwards).
fn update_sql(what: Counted, rows: usize, pg: bool) -> String {
    let (table, ip) = (what.table(), what.ip_set());
    if pg {
        format!(
            "UPDATE {table} SET last_used_at = v.t{ip} \
             FROM (VALUES {}) AS v(id, t, ip) \
             WHERE {table}.id = v.id \
             AND ({table}.last_used_at IS NULL OR {table}.last_used_at <= v.t)",
            values_list(rows, &["text", "bigint", "text"], true)
        )
    } else {
        format!(
            "WITH v(id, t, ip) AS (VALUES {}) \
             UPDATE {table} SET last_used_at = v.t{ip} FROM v \
             WHERE {table}.id = v.id \
             AND ({table}.last_used_at IS NULL OR {table}.last_used_at <= v.t)",
            values_list(rows, &["text", "bigint", "text"], false)
        )
    }
}

/// The hourly columns written per object: keys count refusals beside accepted requests.
fn hour_columns(what: Counted) -> &'static [&'static str] {
    match what {
        Counted::ApiKeys => &[
            "requests",
            "refused_scope",
            "refused_address",
            "refused_rate",
            "refused_expired",
        ],
        Counted::Integrations => &["requests"],
    }
}

/// Requests per object per hour, added to what earlier flushes stored.
fn upsert_sql(what: Counted, rows: usize, pg: bool) -> String {
    let (usage, column) = what.usage();
    let counts = hour_columns(what);
    let mut types = vec!["text", "bigint"];
    types.extend(counts.iter().map(|_| "bigint"));
    let sets: Vec<String> = counts
        .iter()
        .map(|c| format!("{c} = {usage}.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {usage} ({column}, hour, {}) VALUES {} \
         ON CONFLICT ({column}, hour) DO UPDATE SET {}",
        counts.join(", "),
        values_list(rows, &types, pg),
        sets.join(", ")
    )
}

/// Writes one batch on a concrete connection (expanded once per backend): which keys still
/// exist (a key deleted meanwhile has nothing left to count), then chunked multi-row
/// statements for last use and hourly counts.
macro_rules! write_batch {
    ($c:expr, $what:expr, $live:expr, $rows:expr, $backend:ty, $pg:expr) => {{
        use diesel::sql_types::{BigInt, Nullable, Text};
        let c = $c;
        let what: Counted = $what;
        let rows: &[KeyUsage<'_>] = $rows;
        let live: std::collections::HashSet<String> = $live;
        let keys: Vec<&KeyUsage<'_>> = rows.iter().filter(|r| live.contains(r.id)).collect();
        // Only refused since the last flush: no use to record.
        let used: Vec<&&KeyUsage<'_>> = keys.iter().filter(|r| r.last_used_at > 0).collect();
        for chunk in used.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                diesel::sql_query(update_sql(what, chunk.len(), $pg)).into_boxed::<$backend>();
            for r in chunk {
                q = q
                    .bind::<Text, _>(r.id)
                    .bind::<BigInt, _>(r.last_used_at)
                    .bind::<Nullable<Text>, _>(r.last_ip.map(|ip| ip.to_string()));
            }
            q.execute(c)?;
        }
        let counts: Vec<(&str, i64, Outcomes)> = keys
            .iter()
            .flat_map(|r| r.per_hour.iter().map(move |(h, n)| (r.id, *h, *n)))
            .collect();
        let width = hour_columns(what).len();
        for chunk in counts.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                diesel::sql_query(upsert_sql(what, chunk.len(), $pg)).into_boxed::<$backend>();
            for (id, hour, n) in chunk {
                q = q.bind::<Text, _>(*id).bind::<BigInt, _>(*hour);
                for outcome in &Outcome::ALL[..width] {
                    q = q.bind::<BigInt, _>(n.of(*outcome));
                }
            }
            q.execute(c)?;
        }
        Ok::<usize, diesel::result::Error>(live.len())
    }};
}

/// Writes `rows` in one transaction: objects deleted meanwhile are skipped; last use never
/// moves backwards; hourly counts add to what is stored. Returns how many were updated.
pub fn write(conn: &mut DbConnection, what: Counted, rows: &[KeyUsage<'_>]) -> QueryResult<usize> {
    write_tx(conn, |c| write_in(c, what, rows))
}

/// [`write`] inside the caller's transaction.
pub fn write_in(c: &mut DbConnection, what: Counted, rows: &[KeyUsage<'_>]) -> QueryResult<usize> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
    let mut teams = std::collections::HashMap::new();
    for chunk in ids.chunks(ID_CHUNK) {
        teams.extend(what.live(c, chunk)?);
    }
    let live: std::collections::HashSet<String> = teams.keys().cloned().collect();
    let written = match c {
        DbConnection::Sqlite(c) => {
            write_batch!(c, what, live, rows, diesel::sqlite::Sqlite, false)
        }
        DbConnection::Postgres(c) => write_batch!(c, what, live, rows, diesel::pg::Pg, true),
    }?;
    if what == Counted::ApiKeys {
        write_team_hours(c, rows, &teams)?;
    }
    Ok(written)
}

/// Adds the keys' hourly counts up per team (`teams`: key id → team id) into `team_usage`.
fn write_team_hours(
    c: &mut DbConnection,
    rows: &[KeyUsage<'_>],
    teams: &std::collections::HashMap<String, String>,
) -> QueryResult<()> {
    let mut sums: std::collections::BTreeMap<(&str, i64), (i64, i64)> = Default::default();
    for r in rows {
        let Some(team) = teams.get(r.id) else {
            continue;
        };
        for (hour, n) in r.per_hour {
            let accepted = n.of(Outcome::Accepted);
            let all: i64 = Outcome::ALL.iter().map(|o| n.of(*o)).sum();
            let s = sums.entry((team.as_str(), *hour)).or_default();
            s.0 += accepted;
            s.1 += all - accepted;
        }
    }
    let sums: Vec<_> = sums.into_iter().collect();
    let sql = |n: usize, pg: bool| {
        format!(
            "INSERT INTO team_usage (team_id, hour, requests, refused) VALUES {} \
             ON CONFLICT (team_id, hour) DO UPDATE SET \
             requests = team_usage.requests + excluded.requests, \
             refused = team_usage.refused + excluded.refused",
            values_list(n, &["text", "bigint", "bigint", "bigint"], pg)
        )
    };
    macro_rules! upsert {
        ($c:expr, $backend:ty, $pg:expr) => {{
            use diesel::sql_types::{BigInt, Text};
            for chunk in sums.chunks(ROWS_PER_STATEMENT) {
                let mut q = diesel::sql_query(sql(chunk.len(), $pg)).into_boxed::<$backend>();
                for ((team, hour), (accepted, refused)) in chunk {
                    q = q
                        .bind::<Text, _>(*team)
                        .bind::<BigInt, _>(*hour)
                        .bind::<BigInt, _>(*accepted)
                        .bind::<BigInt, _>(*refused);
                }
                q.execute($c)?;
            }
        }};
    }
    match c {
        DbConnection::Sqlite(c) => upsert!(c, diesel::sqlite::Sqlite, false),
        DbConnection::Postgres(c) => upsert!(c, diesel::pg::Pg, true),
    }
    Ok(())
}

/// A team's requests per hour (accepted, refused) from `since` on, oldest first; hours
/// without requests are absent.
pub fn team_hours(
    conn: &mut DbConnection,
    team_id: &str,
    since: i64,
) -> QueryResult<Vec<(i64, i64, i64)>> {
    team_usage::table
        .filter(team_usage::team_id.eq(team_id))
        .filter(team_usage::hour.ge(since))
        .order(team_usage::hour.asc())
        .select((team_usage::hour, team_usage::requests, team_usage::refused))
        .load(conn)
}

/// Sets a key's last use directly, inside the caller's transaction (sample data: the demo).
pub fn set_last_use(
    conn: &mut DbConnection,
    key_id: &str,
    at: i64,
    ip: Option<&str>,
) -> QueryResult<()> {
    diesel::update(api_keys::table.find(key_id))
        .set((api_keys::last_used_at.eq(at), api_keys::last_used_ip.eq(ip)))
        .execute(conn)
        .map(|_| ())
}

/// Stores hourly counts `(hour, counts by outcome)` of a key as given, inside the caller's
/// transaction (sample data: the demo).
pub fn insert_hours(
    conn: &mut DbConnection,
    key_id: &str,
    counts: &[(i64, [i64; 5])],
) -> QueryResult<()> {
    for (hour, [accepted, scope, address, rate, expired]) in counts {
        diesel::insert_into(api_key_usage::table)
            .values((
                api_key_usage::api_key_id.eq(key_id),
                api_key_usage::hour.eq(hour),
                api_key_usage::requests.eq(accepted),
                api_key_usage::refused_scope.eq(scope),
                api_key_usage::refused_address.eq(address),
                api_key_usage::refused_rate.eq(rate),
                api_key_usage::refused_expired.eq(expired),
            ))
            .execute(conn)?;
    }
    let team: String = api_keys::table
        .find(key_id)
        .select(api_keys::team_id)
        .first(conn)?;
    let per_hour: Vec<(i64, Outcomes)> = counts
        .iter()
        .map(|(h, c)| {
            (
                *h,
                Outcomes(c.map(|n| u32::try_from(n).unwrap_or(u32::MAX))),
            )
        })
        .collect();
    let row = KeyUsage {
        id: key_id,
        last_used_at: 0,
        last_ip: None,
        per_hour: &per_hour,
    };
    write_team_hours(
        conn,
        &[row],
        &[(key_id.to_owned(), team)].into_iter().collect(),
    )
}

/// A key's stored requests per hour from `since` on, by outcome, oldest first (hours without
/// requests are absent).
pub fn key_hours(
    conn: &mut DbConnection,
    key_id: &str,
    since: i64,
) -> QueryResult<Vec<(i64, [i64; 5])>> {
    let rows: Vec<(i64, i64, i64, i64, i64, i64)> = api_key_usage::table
        .filter(api_key_usage::api_key_id.eq(key_id))
        .filter(api_key_usage::hour.ge(since))
        .order(api_key_usage::hour.asc())
        .select((
            api_key_usage::hour,
            api_key_usage::requests,
            api_key_usage::refused_scope,
            api_key_usage::refused_address,
            api_key_usage::refused_rate,
            api_key_usage::refused_expired,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(h, a, s, ad, r, e)| (h, [a, s, ad, r, e]))
        .collect())
}
