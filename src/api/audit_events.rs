//! `GET /v1/audit-events` (`admin` scope): the team's audit log, newest first, with the audit
//! page's filters (`action`, `actor`, `key`, `from`, `to`) and cursor pagination. Reading the
//! log needs a live key: a test-mode key never reads what happened to the live team.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::render;
use super::request::Page;
use crate::db::with_read;
use crate::domain::api_key_secret::KeyMode;
use crate::domain::audit::{FilterInput, Owner};
use crate::domain::scope::Scope;
use crate::models::audit;
use crate::state::AppState;

/// GET /v1/audit-events
pub async fn list(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    if auth.tenant().mode != KeyMode::Live {
        return Err(ApiError::InsufficientPermissions(Scope::Admin));
    }
    let page = Page::from_query(&query)?;
    // The dashboard's form sends empty fields for "any"; the API takes a parameter or not.
    let empty: Vec<(String, String)> = FilterInput::FIELDS
        .iter()
        .filter(|k| query.get(**k).is_some_and(|v| v.trim().is_empty()))
        .map(|k| {
            (
                (*k).to_owned(),
                "Must not be empty; leave the parameter out instead.".to_owned(),
            )
        })
        .collect();
    if !empty.is_empty() {
        return Err(ApiError::Validation(empty));
    }
    let input = FilterInput::read(|k| query.get(k).map(String::as_str));
    let filter = input.parse().map_err(|errors| {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|(field, message)| (field.to_owned(), message.to_owned()))
                .collect(),
        )
    })?;
    let owner = Owner::Team(auth.tenant().team.clone());
    let (after, limit) = (page.starting_after.clone(), page.limit);
    let found = with_read(&state.pool, move |c| {
        let Some((events, more)) = audit::page_before(c, &owner, &filter, after.as_deref(), limit)?
        else {
            return Ok(None);
        };
        let agencies = audit::agency_names(c, &events)?;
        Ok(Some((
            events.iter().map(|e| e.to_json(&agencies)).collect(),
            more,
        )))
    })
    .await?;
    let (data, more) =
        found.ok_or_else(|| ApiError::field("starting_after", "No such audit event."))?;
    Ok(render::list(data, more))
}
