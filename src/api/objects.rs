//! What every tenant-scoped API object shares: list with pagination, show, delete — one
//! implementation, used by each resource's handlers after their scope check.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::auth::Principal;
use super::error::ApiError;
use super::render;
use super::request::{Fields, Page, paginate};
use crate::db::DbConnection;
use crate::db::with_read;
use crate::domain::tenant::Tenant;
use crate::models::tenant::TenantRow;
use crate::ops::platform::{self, Audited};
use crate::state::AppState;

/// A tenant row as the API shows it.
pub trait ApiObject: TenantRow {
    /// The `object` field, e.g. `bot`.
    const OBJECT: &'static str;
    /// Whether `id` has this object's id shape (garbage is a 404 without a query).
    fn valid_id(id: &str) -> bool;
    /// The JSON representation.
    fn to_json(&self) -> Value;

    /// The JSON of `rows`, with what they show from other tables read in the same read (an
    /// integration's OAuth connection); by default just each row's own.
    fn render_all(_conn: &mut DbConnection, rows: &[Self]) -> diesel::QueryResult<Vec<Value>>
    where
        Self: Sized,
    {
        Ok(rows.iter().map(Self::to_json).collect())
    }
}

/// The JSON of one row, as `show` renders it.
pub async fn render_one<T: ApiObject + Send + 'static>(
    state: &AppState,
    row: T,
) -> Result<Value, ApiError> {
    let mut shown = with_read(&state.pool, move |c| {
        Ok(T::render_all(c, std::slice::from_ref(&row))?)
    })
    .await?;
    Ok(shown.pop().unwrap_or(Value::Null))
}

/// One object of the tenant, or 404.
pub async fn find<T: ApiObject>(state: &AppState, t: &Tenant, id: &str) -> Result<T, ApiError> {
    if !T::valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let (t, id) = (t.clone(), id.to_owned());
    with_read(&state.pool, move |c| Ok(T::find(c, &t, &id)?))
        .await?
        .ok_or(ApiError::NotFound)
}

/// The object `id` (from body field `field`, if given) names in the tenant; a missing one
/// becomes that field's message (and `None`), any other failure stays an error.
pub async fn check_reference<T: ApiObject>(
    state: &AppState,
    t: &Tenant,
    f: &mut Fields,
    field: &str,
    id: Option<&str>,
) -> Result<Option<T>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    match find::<T>(state, t, id).await {
        Ok(found) => Ok(Some(found)),
        Err(ApiError::NotFound) => {
            f.error(field, &format!("No such {}.", T::OBJECT.replace('_', " ")));
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

/// The `starting_after` cursor of a list request, resolved within the tenant.
pub async fn cursor<T: ApiObject>(
    state: &AppState,
    t: &Tenant,
    page: &Page,
) -> Result<Option<(i64, String)>, ApiError> {
    match &page.starting_after {
        None => Ok(None),
        Some(id) => {
            let row: T = find(state, t, id).await.map_err(|e| match e {
                ApiError::NotFound => ApiError::field(
                    "starting_after",
                    &format!("No such {}.", T::OBJECT.replace('_', " ")),
                ),
                other => other,
            })?;
            Ok(Some((row.created_at(), row.id().to_owned())))
        }
    }
}

/// `GET /v1/<objects>`.
pub async fn list<T: ApiObject>(
    state: &AppState,
    t: &Tenant,
    query: &web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_query(query)?;
    let cursor = cursor::<T>(state, t, &page).await?;
    let (t, limit) = (t.clone(), page.limit);
    let (shown, has_more) = with_read(&state.pool, move |c| {
        let (rows, has_more) = paginate(T::page(c, &t, cursor.clone(), limit)?, limit);
        Ok((T::render_all(c, &rows)?, has_more))
    })
    .await?;
    Ok(render::list(shown, has_more))
}

/// `GET /v1/<objects>/{id}`.
pub async fn show<T: ApiObject>(
    state: &AppState,
    t: &Tenant,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let row: T = find(state, t, id).await?;
    Ok(render::object(
        StatusCode::OK,
        render_one(state, row).await?,
    ))
}

/// `DELETE /v1/<objects>/{id}`.
pub async fn delete<T: ApiObject + Audited>(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    if !T::valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let actor = p.actor(state.clock.now());
    if platform::delete::<T>(state, &actor, p.tenant(), id).await? {
        Ok(render::deleted(T::OBJECT, id))
    } else {
        Err(ApiError::NotFound)
    }
}

/// Creates `row` with `save` and answers 201 with its JSON.
pub async fn created<T, F>(
    state: &AppState,
    p: &Principal,
    row: T,
    save: F,
) -> Result<HttpResponse, ApiError>
where
    T: ApiObject + Audited,
    F: FnOnce(&mut DbConnection, &T) -> diesel::QueryResult<()> + Send + 'static,
{
    let body = row.to_json();
    let actor = p.actor(state.clock.now());
    platform::create(state, &actor, p.tenant(), row, save).await?;
    Ok(render::object(StatusCode::CREATED, body))
}

/// Saves the changed `row` with `save` and answers 200 with its JSON.
pub async fn updated<T, F>(
    state: &AppState,
    p: &Principal,
    row: T,
    save: F,
) -> Result<HttpResponse, ApiError>
where
    T: ApiObject + Audited,
    F: FnOnce(&mut DbConnection, &T) -> diesel::QueryResult<()> + Send + 'static,
{
    let body = row.to_json();
    let actor = p.actor(state.clock.now());
    platform::update(state, &actor, p.tenant(), row, save).await?;
    Ok(render::object(StatusCode::OK, body))
}
