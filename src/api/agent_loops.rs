//! `/v1/agent-loops`: `agent-loops:read` / `agent-loops:write`. Runs are recorded as
//! requests (`queued`); executing them is the platform's job, not the key manager's — its
//! executor reports each run `running`, then `succeeded` or `failed`, with `PATCH`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::objects::{self, ApiObject};
use super::render;
use super::request::{Fields, JsonObject, Page, paginate};
use crate::db::with_read;
use crate::domain::agent_loop::RunStatus;
use crate::domain::ids::{AgentLoopId, AgentLoopRunId};
use crate::domain::limits;
use crate::models::agent_loop::{AgentLoop, AgentLoopRun};
use crate::models::bot::Bot;
use crate::ops;
use crate::state::AppState;

impl ApiObject for AgentLoop {
    const OBJECT: &'static str = "agent_loop";

    fn valid_id(id: &str) -> bool {
        AgentLoopId::parse(id).is_some()
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "agent_loop",
            "mode": self.mode,
            "bot_id": self.bot_id,
            "name": self.name,
            "instructions": self.instructions,
            "created_at": render::time(Some(self.created_at)),
            "updated_at": render::time(Some(self.updated_at)),
        })
    }
}

fn run_json(r: &AgentLoopRun) -> Value {
    json!({
        "id": r.id,
        "object": "agent_loop_run",
        "agent_loop_id": r.agent_loop_id,
        "status": r.status,
        "input": serde_json::from_str::<Value>(&r.input).unwrap_or(Value::Null),
        "created_at": render::time(Some(r.created_at)),
        "started_at": render::time(r.started_at),
        "finished_at": render::time(r.finished_at),
    })
}

/// GET /v1/agent-loops
pub async fn list(
    auth: Authorized<need::AgentLoopsRead>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    objects::list::<AgentLoop>(&state, auth.tenant(), &query).await
}

/// POST /v1/agent-loops
pub async fn create(
    auth: Authorized<need::AgentLoopsWrite>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(body.0, &["name", "instructions", "bot_id"]);
    let name = f.string("name", true, 1, limits::NAME_MAX);
    let instructions = f
        .text("instructions", false, limits::INSTRUCTIONS_MAX)
        .unwrap_or_default();
    let bot_id = f.string("bot_id", false, 1, limits::REFERENCE_MAX);
    let bot =
        objects::check_reference::<Bot>(&state, auth.tenant(), &mut f, "bot_id", bot_id.as_deref())
            .await?;
    f.finish()?;
    let now = state.clock.now();
    let l = AgentLoop {
        id: AgentLoopId::generate(),
        team_id: auth.tenant().team.clone(),
        mode: auth.tenant().mode.as_str().to_owned(),
        bot_id: bot.map(|b| b.id),
        name: name.unwrap_or_default(),
        instructions,
        created_at: now,
        updated_at: now,
    };
    objects::created(&state, &auth, l, AgentLoop::insert).await
}

/// GET /v1/agent-loops/{id}
pub async fn show(
    auth: Authorized<need::AgentLoopsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::show::<AgentLoop>(&state, auth.tenant(), &path).await
}

/// POST /v1/agent-loops/{id}/runs: records a run request (202, `queued`).
pub async fn start_run(
    auth: Authorized<need::AgentLoopsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let l: AgentLoop = objects::find(&state, auth.tenant(), &path).await?;
    let mut f = Fields::new(body.0, &["input"]);
    let input = match f.take("input") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            f.error("input", "Must be a JSON object.");
            Value::Null
        }
    };
    f.finish()?;
    let run = AgentLoopRun {
        id: AgentLoopRunId::generate(),
        agent_loop_id: l.id.clone(),
        status: "queued".to_owned(),
        input: input.to_string(),
        api_key_id: Some(auth.key().id.clone()),
        created_at: state.clock.now(),
        started_at: None,
        finished_at: None,
    };
    let body = run_json(&run);
    let actor = auth.actor(state.clock.now());
    ops::platform::queue_run(&state, &actor, auth.tenant(), &l, run).await?;
    Ok(render::object(StatusCode::ACCEPTED, body))
}

/// GET /v1/agent-loops/{id}/runs
pub async fn list_runs(
    auth: Authorized<need::AgentLoopsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let l: AgentLoop = objects::find(&state, auth.tenant(), &path).await?;
    let page = Page::from_query(&query)?;
    let loop_id = l.id.clone();
    let cursor = match page.starting_after.clone() {
        None => None,
        Some(run_id) => {
            let lid = loop_id.clone();
            let run = with_read(&state.pool, move |c| {
                Ok(AgentLoop::find_run(c, &lid, &run_id)?)
            })
            .await?;
            let run =
                run.ok_or_else(|| ApiError::field("starting_after", "No such agent loop run."))?;
            Some((run.created_at, run.id))
        }
    };
    let limit = page.limit;
    let rows = with_read(&state.pool, move |c| {
        Ok(AgentLoop::runs(c, &loop_id, cursor.clone(), limit)?)
    })
    .await?;
    let (rows, has_more) = paginate(rows, limit);
    Ok(render::list(rows.iter().map(run_json).collect(), has_more))
}

/// PATCH /v1/agent-loops/{id}/runs/{run_id}: the executor reports progress — `running`, then
/// `succeeded` or `failed` (a finished run stays finished).
pub async fn update_run(
    auth: Authorized<need::AgentLoopsWrite>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let (loop_id, run_id) = path.into_inner();
    let l: AgentLoop = objects::find(&state, auth.tenant(), &loop_id).await?;
    AgentLoopRunId::parse(&run_id).ok_or(ApiError::NotFound)?;
    let mut f = Fields::new(body.0, &["status"]);
    let status = f
        .string("status", true, 1, 16)
        .and_then(|s| match RunStatus::parse(&s) {
            Some(RunStatus::Queued) | None => {
                f.error("status", "Must be running, succeeded or failed.");
                None
            }
            Some(s) => Some(s),
        });
    f.finish()?;
    let status = status.ok_or_else(|| ApiError::field("status", "This field is required."))?;
    let actor = auth.actor(state.clock.now());
    let run = ops::platform::progress_run(&state, &actor, auth.tenant(), &l, &run_id, status)
        .await
        .map_err(|e| match e {
            ops::platform::RunProgressError::NotFound => ApiError::NotFound,
            ops::platform::RunProgressError::Finished(s) => ApiError::field(
                "status",
                &format!("The run already {s}; a finished run does not change."),
            ),
            ops::platform::RunProgressError::Failed(e) => e.into(),
        })?;
    Ok(render::object(StatusCode::OK, run_json(&run)))
}
