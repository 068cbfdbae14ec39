//! The team's key list as people search it: filters, order and keyset pages in SQL (a team
//! may have tens of thousands of keys), following the hygiene rules of
//! `domain/key_hygiene.rs`.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::api_key::{ApiKey, KeyWithCreator, LEAKED_VISIBLE_FOR};
use super::like_literal;
use crate::db::schema::{api_keys, users};
use crate::db::{DbBackend, DbConnection};
use crate::domain::api_key_secret::KeyMode;
use crate::domain::ids::{ApiKeyId, TeamId};
use crate::domain::key_hygiene::{
    EXPIRING_SOON, EXPIRING_TOMORROW, OLDER_THAN, STILL_IN_USE, UNUSED_FOR,
};
use crate::domain::key_list::{
    CreatorFilter, HintFilter, KeyFilter, KeySort, Search, StatusFilter,
};

type Query = api_keys::BoxedQuery<'static, DbBackend>;
type Cond = Box<dyn BoxableExpression<api_keys::table, DbBackend, SqlType = Nullable<Bool>>>;

/// Stands in for "never expires" when ordering by expiry (after every real date).
const NEVER: i64 = 9_000_000_000_000_000_000;

/// One page of a list.
pub struct KeyPage {
    /// The keys of the page, in order, with their creators' names.
    pub keys: Vec<KeyWithCreator>,
    /// The retiring keys whose successors are on the page (shown beneath them).
    pub predecessors: Vec<KeyWithCreator>,
    /// Keys matching the filter, on every page.
    pub total: i64,
    /// More pages follow.
    pub has_more: bool,
}

fn lower_name() -> diesel::expression::SqlLiteral<Text> {
    sql::<Text>("lower(api_keys.name)")
}

fn last_used_or_never() -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>("COALESCE(api_keys.last_used_at, -1)")
}

fn expires_or_never() -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>(&format!("COALESCE(api_keys.expires_at, {NEVER})"))
}

/// Listed at all: not gone (deleted, or retired after its grace period), or revoked by a leak
/// report in the last 30 days.
fn listed(now: i64) -> Cond {
    Box::new(
        api_keys::revoked_at
            .is_null()
            .and(
                api_keys::retiring_until
                    .is_null()
                    .or(api_keys::retiring_until.gt(now)),
            )
            .or(api_keys::reported_leaked_at.gt(now - LEAKED_VISIBLE_FOR)),
    )
}

/// Works and is not retiring: the keys hygiene rules judge.
fn working(now: i64) -> Cond {
    Box::new(
        api_keys::reported_leaked_at
            .is_null()
            .and(api_keys::revoked_at.is_null())
            .and(api_keys::retiring_until.is_null())
            .and(
                api_keys::expires_at
                    .is_null()
                    .or(api_keys::expires_at.gt(now)),
            ),
    )
}

fn retiring(now: i64) -> Cond {
    Box::new(
        api_keys::reported_leaked_at
            .is_null()
            .and(api_keys::revoked_at.is_null())
            .and(api_keys::retiring_until.gt(now)),
    )
}

fn has_admin() -> Cond {
    Box::new(sql::<Nullable<Bool>>(
        "(' ' || api_keys.scopes || ' ') LIKE '% admin %'",
    ))
}

fn old(now: i64) -> Cond {
    Box::new(api_keys::created_at.lt(now - OLDER_THAN).nullable())
}

fn unused(now: i64) -> Cond {
    Box::new(
        sql::<Nullable<Bool>>("COALESCE(api_keys.last_used_at, api_keys.created_at) <= ")
            .bind::<BigInt, _>(now - UNUSED_FOR),
    )
}

fn search(s: &Search) -> Cond {
    match s {
        Search::Text { raw, lower } => Box::new(
            lower_name()
                .like(format!("%{}%", like_literal(lower)))
                .escape('\\')
                .or(api_keys::environment.eq(lower.clone()))
                .or(api_keys::head.eq(raw.clone()))
                .or(api_keys::tail.eq(raw.clone())),
        ),
        Search::Prefix(start) => Box::new(
            sql::<Text>("(api_keys.prefix || api_keys.head)")
                .like(format!("{}%", like_literal(start)))
                .escape('\\')
                .nullable(),
        ),
        Search::Masked { start, tail } => Box::new(
            sql::<Text>("(api_keys.prefix || api_keys.head)")
                .eq(start.clone())
                .and(api_keys::tail.eq(tail.clone()))
                .nullable(),
        ),
    }
}

fn status(s: StatusFilter, now: i64) -> Cond {
    let current = || {
        api_keys::reported_leaked_at
            .is_null()
            .and(api_keys::revoked_at.is_null())
            .and(api_keys::retiring_until.is_null())
    };
    match s {
        StatusFilter::Active => Box::new(
            current().and(
                api_keys::expires_at
                    .is_null()
                    .or(api_keys::expires_at.gt(now + EXPIRING_SOON)),
            ),
        ),
        StatusFilter::Expiring => Box::new(
            current()
                .and(api_keys::expires_at.gt(now))
                .and(api_keys::expires_at.le(now + EXPIRING_SOON)),
        ),
        StatusFilter::Expired => Box::new(current().and(api_keys::expires_at.le(now))),
        StatusFilter::Retiring => retiring(now),
        StatusFilter::Leaked => Box::new(api_keys::reported_leaked_at.is_not_null().nullable()),
    }
}

fn hint(h: HintFilter, now: i64) -> Cond {
    match h {
        HintFilter::Old => Box::new(working(now).and(old(now))),
        HintFilter::Unused => Box::new(working(now).and(unused(now))),
        HintFilter::NoExpiry => Box::new(working(now).and(api_keys::expires_at.is_null())),
        HintFilter::Admin => Box::new(working(now).and(has_admin())),
        HintFilter::Attention => Box::new(
            working(now)
                .and(
                    old(now)
                        .or(unused(now))
                        .or(has_admin().and(api_keys::expires_at.is_null())),
                )
                .or(retiring(now).and(api_keys::last_used_at.gt(now - STILL_IN_USE))),
        ),
    }
}

/// A retiring key whose successor is listed on its own row (it is shown beneath it).
fn beneath_successor(now: i64) -> Cond {
    Box::new(
        sql::<Nullable<Bool>>("(api_keys.revoked_at IS NULL AND api_keys.retiring_until > ")
            .bind::<BigInt, _>(now)
            .sql(
                " AND EXISTS (SELECT 1 FROM api_keys s WHERE s.id = api_keys.replaced_by \
             AND s.revoked_at IS NULL AND s.retiring_until IS NULL \
             AND s.reported_leaked_at IS NULL))",
            ),
    )
}

/// What `filter` asks of a listed key (of `mode`, if given), as conditions.
fn conditions(mode: Option<KeyMode>, filter: &KeyFilter, now: i64) -> Vec<Cond> {
    let mut all: Vec<Cond> = vec![];
    if let Some(m) = mode.or(filter.mode) {
        all.push(Box::new(api_keys::mode.eq(m.as_str()).nullable()));
    }
    if let Some(s) = &filter.search {
        all.push(search(s));
    }
    if let Some(s) = filter.status {
        all.push(status(s, now));
    }
    if let Some(h) = filter.hint {
        all.push(hint(h, now));
    }
    match &filter.creator {
        None => {}
        Some(CreatorFilter::Api) => all.push(Box::new(api_keys::created_by.is_null().nullable())),
        Some(CreatorFilter::User(u)) => all.push(Box::new(
            api_keys::created_by.eq(u.as_str().to_owned()).nullable(),
        )),
    }
    if filter.grouped {
        all.push(Box::new(diesel::dsl::not(beneath_successor(now))));
    }
    all
}

/// The team's listed keys, before any filter.
fn listed_of(team: &TeamId, now: i64) -> Query {
    api_keys::table
        .filter(api_keys::team_id.eq(team.as_str().to_owned()))
        .filter(listed(now))
        .into_boxed()
}

/// The team's keys (of `mode`, if given) that `filter` asks for, without order or cursor.
fn matching(team: &TeamId, mode: Option<KeyMode>, filter: &KeyFilter, now: i64) -> Query {
    conditions(mode, filter, now)
        .into_iter()
        .fold(listed_of(team, now), |q, c| q.filter(c))
}

/// Where the cursor key sits in the order: its sort value (an integer or a lowered name).
enum At {
    Int(i64),
    Text(String),
}

fn cursor(
    conn: &mut DbConnection,
    team: &TeamId,
    sort: KeySort,
    id: &ApiKeyId,
) -> QueryResult<Option<At>> {
    let q = api_keys::table
        .filter(api_keys::team_id.eq(team.as_str()))
        .filter(api_keys::id.eq(id.as_str()));
    Ok(match sort {
        KeySort::Newest | KeySort::Oldest => q
            .select(api_keys::created_at)
            .first::<i64>(conn)
            .optional()?
            .map(At::Int),
        KeySort::Name => q
            .select(lower_name())
            .first::<String>(conn)
            .optional()?
            .map(At::Text),
        KeySort::LastUsed => q
            .select(last_used_or_never())
            .first::<i64>(conn)
            .optional()?
            .map(At::Int),
        KeySort::Expires => q
            .select(expires_or_never())
            .first::<i64>(conn)
            .optional()?
            .map(At::Int),
    })
}

/// Orders `q` by `sort` (ties broken by id) and keeps what comes after `at`/`after`.
fn ordered(mut q: Query, sort: KeySort, after: Option<(At, &ApiKeyId)>) -> Query {
    let id = |a: &ApiKeyId| a.as_str().to_owned();
    match (sort, after) {
        (KeySort::Newest, Some((At::Int(v), a))) => {
            q = q
                .filter(api_keys::created_at.le(v))
                .filter(api_keys::created_at.lt(v).or(api_keys::id.lt(id(a))));
        }
        (KeySort::Oldest, Some((At::Int(v), a))) => {
            q = q
                .filter(api_keys::created_at.ge(v))
                .filter(api_keys::created_at.gt(v).or(api_keys::id.gt(id(a))));
        }
        (KeySort::Name, Some((At::Text(v), a))) => {
            q = q.filter(
                lower_name()
                    .gt(v.clone())
                    .or(lower_name().eq(v).and(api_keys::id.gt(id(a)))),
            );
        }
        (KeySort::LastUsed, Some((At::Int(v), a))) => {
            q = q.filter(
                last_used_or_never()
                    .lt(v)
                    .or(last_used_or_never().eq(v).and(api_keys::id.lt(id(a)))),
            );
        }
        (KeySort::Expires, Some((At::Int(v), a))) => {
            q = q.filter(
                expires_or_never()
                    .gt(v)
                    .or(expires_or_never().eq(v).and(api_keys::id.gt(id(a)))),
            );
        }
        _ => {}
    }
    match sort {
        KeySort::Newest => q.order((api_keys::created_at.desc(), api_keys::id.desc())),
        KeySort::Oldest => q.order((api_keys::created_at.asc(), api_keys::id.asc())),
        KeySort::Name => q.order((lower_name().asc(), api_keys::id.asc())),
        KeySort::LastUsed => q.order((last_used_or_never().desc(), api_keys::id.desc())),
        KeySort::Expires => q.order((expires_or_never().asc(), api_keys::id.asc())),
    }
}

/// Creators' names of `keys`.
fn with_creators(conn: &mut DbConnection, keys: Vec<ApiKey>) -> QueryResult<Vec<KeyWithCreator>> {
    let mut ids: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.created_by.as_ref().map(|u| u.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<String, String> = if ids.is_empty() {
        Default::default()
    } else {
        users::table
            .filter(users::id.eq_any(ids))
            .select((users::id, users::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(keys
        .into_iter()
        .map(|key| {
            let creator_name = key
                .created_by
                .as_ref()
                .and_then(|u| names.get(u.as_str()).cloned());
            KeyWithCreator { key, creator_name }
        })
        .collect())
}

/// One page of the team's keys (of `mode`, if given) that `filter` asks for: up to `limit`
/// after `filter.after`. `None` when the cursor names no key of the team. `total`, when the
/// caller counted already ([`notices`] does, in its pass), saves counting again.
pub fn page(
    conn: &mut DbConnection,
    team: &TeamId,
    mode: Option<KeyMode>,
    filter: &KeyFilter,
    limit: i64,
    now: i64,
    total: Option<i64>,
) -> QueryResult<Option<KeyPage>> {
    let after = match &filter.after {
        None => None,
        Some(id) => match cursor(conn, team, filter.sort, id)? {
            Some(at) => Some((at, id)),
            None => return Ok(None),
        },
    };
    let first_page = after.is_none();
    let mut rows: Vec<ApiKey> = ordered(matching(team, mode, filter, now), filter.sort, after)
        .limit(limit + 1)
        .select(ApiKey::as_select())
        .load(conn)?;
    let has_more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    // A first page that holds every match is its own count (a search mostly is): the count's
    // scan of the team's keys is needed only when there are more pages.
    let total = match total {
        Some(n) => n,
        None if first_page && !has_more => i64::try_from(rows.len()).unwrap_or(i64::MAX),
        None => matching(team, mode, filter, now).count().get_result(conn)?,
    };
    let predecessors = if filter.grouped && !rows.is_empty() {
        let ids: Vec<String> = rows.iter().map(|k| k.id.as_str().to_owned()).collect();
        api_keys::table
            .filter(api_keys::team_id.eq(team.as_str()))
            .filter(api_keys::replaced_by.eq_any(ids))
            .filter(retiring(now))
            .select(ApiKey::as_select())
            .load(conn)?
    } else {
        vec![]
    };
    Ok(Some(KeyPage {
        keys: with_creators(conn, rows)?,
        predecessors: with_creators(conn, predecessors)?,
        total,
        has_more,
    }))
}

/// What the keys page's one banner may report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    /// Working keys that need attention (hygiene).
    pub attention: i64,
    /// Working keys expiring within 7 days.
    pub expiring_week: i64,
    /// Of those, expiring within a day.
    pub expiring_day: i64,
    /// Keys matching the list's filter.
    pub matching: i64,
}

/// The counts behind the keys page's banner, for the whole team, and how many keys `filter`
/// matches — in one pass over the team's keys (`COUNT(CASE WHEN … THEN 1 END)` each, with the
/// filters' own conditions): at 10,000 keys a pass is most of the page's time.
pub fn notices(
    conn: &mut DbConnection,
    team: &TeamId,
    filter: &KeyFilter,
    now: i64,
) -> QueryResult<Notices> {
    use diesel::dsl::{case_when, count};
    let one = || 1i32.into_sql::<diesel::sql_types::Integer>();
    let expiring = || status(StatusFilter::Expiring, now);
    let matches: Cond = conditions(None, filter, now)
        .into_iter()
        .fold(Box::new(sql::<Nullable<Bool>>("1 = 1")), |all, c| {
            Box::new(all.and(c))
        });
    let (attention, expiring_week, expiring_day, matching): (i64, i64, i64, i64) =
        listed_of(team, now)
            .select((
                count(case_when(hint(HintFilter::Attention, now), one())),
                count(case_when(expiring(), one())),
                count(case_when(
                    expiring().and(api_keys::expires_at.le(now + EXPIRING_TOMORROW)),
                    one(),
                )),
                count(case_when(matches, one())),
            ))
            .get_result(conn)?;
    Ok(Notices {
        attention,
        expiring_week,
        expiring_day,
        matching,
    })
}

/// How many of the team's keys that work now `user` created (a member's removal leaves them
/// working: the confirmation says how many).
pub fn created_by_working(
    conn: &mut DbConnection,
    team: &TeamId,
    user: &crate::domain::ids::UserId,
    now: i64,
) -> QueryResult<i64> {
    let filter = KeyFilter {
        creator: Some(CreatorFilter::User(user.clone())),
        ..KeyFilter::default()
    };
    matching(team, None, &filter, now)
        .filter(api_keys::reported_leaked_at.is_null())
        .filter(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(now)),
        )
        .count()
        .get_result(conn)
}
