//! Where each key is used from: one row per key and client address, written by the usage
//! flush (never on the request path). A row's insert is the address's first sighting.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::DbConnection;
use crate::db::schema::{api_key_addresses, api_keys};

/// One key's requests from one address since the last flush.
#[derive(Clone, Debug)]
pub struct Sighting<'a> {
    /// The key.
    pub key_id: &'a str,
    /// The address, as text.
    pub ip: String,
    /// First request, Unix seconds.
    pub first: i64,
    /// Latest request.
    pub last: i64,
    /// Requests.
    pub requests: i64,
}

/// An address stored for a key.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_key_addresses)]
pub struct KeyAddress {
    /// The address.
    pub ip: String,
    /// First seen, Unix seconds.
    pub first_seen: i64,
    /// Last seen.
    pub last_seen: i64,
    /// Requests from it (accepted and refused).
    pub requests: i64,
}

/// Rows per multi-row upsert (5 binds each).
const ROWS_PER_STATEMENT: usize = 200;

fn upsert_sql(rows: usize, pg: bool) -> String {
    let mut values = String::with_capacity(rows * 40);
    for r in 0..rows {
        if r > 0 {
            values.push_str(", ");
        }
        if pg {
            let n = r * 5;
            values.push_str(&format!(
                "(${}::text, ${}::text, ${}::bigint, ${}::bigint, ${}::bigint)",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            ));
        } else {
            values.push_str("(?, ?, ?, ?, ?)");
        }
    }
    let (least, greatest) = if pg {
        ("LEAST", "GREATEST")
    } else {
        ("MIN", "MAX")
    };
    format!(
        "INSERT INTO api_key_addresses (api_key_id, ip, first_seen, last_seen, requests) \
         VALUES {values} ON CONFLICT (api_key_id, ip) DO UPDATE SET \
         first_seen = {least}(api_key_addresses.first_seen, excluded.first_seen), \
         last_seen = {greatest}(api_key_addresses.last_seen, excluded.last_seen), \
         requests = api_key_addresses.requests + excluded.requests"
    )
}

/// The first sighting of an address: 0 rows when another node inserted it first.
fn first_sql(pg: bool) -> &'static str {
    if pg {
        "INSERT INTO api_key_addresses (api_key_id, ip, first_seen, last_seen, requests) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (api_key_id, ip) DO NOTHING"
    } else {
        "INSERT INTO api_key_addresses (api_key_id, ip, first_seen, last_seen, requests) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (api_key_id, ip) DO NOTHING"
    }
}

/// Adds `sightings` to their stored rows (first seen the earliest, last seen the latest,
/// requests summed), inserting rows that do not exist.
fn upsert(conn: &mut DbConnection, sightings: &[&Sighting<'_>]) -> QueryResult<()> {
    macro_rules! run {
        ($c:expr, $backend:ty, $pg:expr) => {{
            for chunk in sightings.chunks(ROWS_PER_STATEMENT) {
                let mut q =
                    diesel::sql_query(upsert_sql(chunk.len(), $pg)).into_boxed::<$backend>();
                for s in chunk {
                    q = q
                        .bind::<Text, _>(s.key_id)
                        .bind::<Text, _>(s.ip.as_str())
                        .bind::<BigInt, _>(s.first)
                        .bind::<BigInt, _>(s.last)
                        .bind::<BigInt, _>(s.requests);
                }
                q.execute($c)?;
            }
            Ok(())
        }};
    }
    match conn {
        DbConnection::Sqlite(c) => run!(c, diesel::sqlite::Sqlite, false),
        DbConnection::Postgres(c) => run!(c, diesel::pg::Pg, true),
    }
}

/// Inserts `s` as an address's first sighting; false when another node inserted it first.
fn insert_first(conn: &mut DbConnection, s: &Sighting<'_>) -> QueryResult<bool> {
    let pg = matches!(conn, DbConnection::Postgres(_));
    let n = diesel::sql_query(first_sql(pg))
        .bind::<Text, _>(s.key_id)
        .bind::<Text, _>(s.ip.as_str())
        .bind::<BigInt, _>(s.first)
        .bind::<BigInt, _>(s.last)
        .bind::<BigInt, _>(s.requests)
        .execute(conn)?;
    Ok(n == 1)
}

/// Adds `sightings` to what is stored, inside the caller's transaction; returns those that were
/// the first sighting of an address for a key that had been used from another address before
/// (a key's very first address is where it was deployed, not news).
pub fn record<'a>(
    conn: &mut DbConnection,
    sightings: &'a [Sighting<'a>],
) -> QueryResult<Vec<&'a Sighting<'a>>> {
    let mut keys: Vec<&str> = sightings.iter().map(|s| s.key_id).collect();
    keys.sort_unstable();
    keys.dedup();
    // A key deleted from the database meanwhile has nothing left to record.
    let mut live: std::collections::HashSet<String> = Default::default();
    for chunk in keys.chunks(500) {
        live.extend(
            api_keys::table
                .filter(api_keys::id.eq_any(chunk))
                .select(api_keys::id)
                .load::<String>(conn)?,
        );
    }
    keys.retain(|k| live.contains(*k));
    let mut stored: std::collections::HashSet<(String, String)> = Default::default();
    for chunk in keys.chunks(500) {
        stored.extend(
            api_key_addresses::table
                .filter(api_key_addresses::api_key_id.eq_any(chunk))
                .select((api_key_addresses::api_key_id, api_key_addresses::ip))
                .load::<(String, String)>(conn)?,
        );
    }
    let mut had_any: std::collections::HashSet<&str> =
        stored.iter().map(|(k, _)| k.as_str()).collect();
    let (known, mut fresh): (Vec<&Sighting<'_>>, Vec<&Sighting<'_>>) = sightings
        .iter()
        .filter(|s| live.contains(s.key_id))
        .partition(|s| stored.contains(&(s.key_id.to_owned(), s.ip.clone())));
    upsert(conn, &known)?;
    // Earliest first: of two new addresses of an unused key, the earlier one is its home.
    fresh.sort_by_key(|s| (s.key_id, s.first));
    let mut news = vec![];
    let mut raced = vec![];
    for s in fresh {
        if !insert_first(conn, s)? {
            // Another node inserted it meanwhile: add to its row.
            raced.push(s);
            continue;
        }
        if had_any.contains(s.key_id) {
            news.push(s);
        }
        had_any.insert(s.key_id);
    }
    upsert(conn, &raced)?;
    Ok(news)
}

/// The addresses `key_id` was used from, most recent first, at most `limit`.
pub fn recent(conn: &mut DbConnection, key_id: &str, limit: i64) -> QueryResult<Vec<KeyAddress>> {
    api_key_addresses::table
        .filter(api_key_addresses::api_key_id.eq(key_id))
        .order((
            api_key_addresses::last_seen.desc(),
            api_key_addresses::ip.asc(),
        ))
        .limit(limit)
        .select(KeyAddress::as_select())
        .load(conn)
}

/// Stores one address of a key as given, inside the caller's transaction (sample data: the
/// demo).
pub fn insert(conn: &mut DbConnection, key_id: &str, address: &KeyAddress) -> QueryResult<()> {
    diesel::insert_into(api_key_addresses::table)
        .values((
            api_key_addresses::api_key_id.eq(key_id),
            api_key_addresses::ip.eq(&address.ip),
            api_key_addresses::first_seen.eq(address.first_seen),
            api_key_addresses::last_seen.eq(address.last_seen),
            api_key_addresses::requests.eq(address.requests),
        ))
        .execute(conn)
        .map(|_| ())
}
