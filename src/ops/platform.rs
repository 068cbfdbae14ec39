//! Writes of the platform objects through `/v1` (bots, channels, conversations, agent loops
//! and their runs; integrations have theirs in `integrations.rs`): each is one transaction
//! with its audit and outbox events, the calling key as the actor.

use super::{Abort, record, transact};
use crate::db::DbConnection;
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target};
use crate::domain::tenant::Tenant;
use crate::error::AppError;
use crate::models::agent_loop::{AgentLoop, AgentLoopRun};
use crate::models::bot::Bot;
use crate::models::channel::Channel;
use crate::models::conversation::Conversation;
use crate::models::tenant::TenantRow;
use crate::state::AppState;

/// A platform object whose changes are audited.
pub trait Audited: TenantRow + Clone {
    /// The target kind, e.g. `bot`.
    const KIND: &'static str;
    /// The event of its creation.
    const CREATED: AuditAction;
    /// The event of an update, if it can be updated.
    const UPDATED: Option<AuditAction>;
    /// The event of its deletion, if it can be deleted.
    const DELETED: Option<AuditAction>;
    /// Its name as events show it.
    fn label(&self) -> &str;
}

macro_rules! audited {
    ($ty:ty, $kind:literal, $label:ident, $created:ident, $updated:expr, $deleted:expr) => {
        impl Audited for $ty {
            const KIND: &'static str = $kind;
            const CREATED: AuditAction = AuditAction::$created;
            const UPDATED: Option<AuditAction> = $updated;
            const DELETED: Option<AuditAction> = $deleted;
            fn label(&self) -> &str {
                &self.$label
            }
        }
    };
}

audited!(
    Bot,
    "bot",
    name,
    BotCreated,
    Some(AuditAction::BotUpdated),
    Some(AuditAction::BotDeleted)
);
audited!(
    Channel,
    "channel",
    name,
    ChannelCreated,
    Some(AuditAction::ChannelUpdated),
    Some(AuditAction::ChannelDeleted)
);
audited!(
    Conversation,
    "conversation",
    title,
    ConversationCreated,
    None,
    Some(AuditAction::ConversationDeleted)
);
audited!(AgentLoop, "agent_loop", name, AgentLoopCreated, None, None);

fn target<T: Audited>(row: &T) -> Target {
    Target::new(T::KIND, row.id(), row.label())
}

fn owner(t: &Tenant) -> Owner {
    Owner::Team(t.team.clone())
}

/// Writes a new `row` of the tenant with `write` (which may insert related rows too).
pub async fn create<T, F>(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    row: T,
    write: F,
) -> Result<(), AppError>
where
    T: Audited,
    F: FnOnce(&mut DbConnection, &T) -> diesel::QueryResult<()> + Send + 'static,
{
    save(state, actor, tenant, row, T::CREATED, write).await
}

/// Saves the changed `row` with `write`.
pub async fn update<T, F>(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    row: T,
    write: F,
) -> Result<(), AppError>
where
    T: Audited,
    F: FnOnce(&mut DbConnection, &T) -> diesel::QueryResult<()> + Send + 'static,
{
    let action =
        T::UPDATED.ok_or_else(|| AppError::Internal(format!("{} has no update", T::KIND)))?;
    save(state, actor, tenant, row, action, write).await
}

/// Writes `row` with `write` and records `action` about it, in one transaction.
async fn save<T, F>(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    row: T,
    action: AuditAction,
    write: F,
) -> Result<(), AppError>
where
    T: Audited,
    F: FnOnce(&mut DbConnection, &T) -> diesel::QueryResult<()> + Send + 'static,
{
    let (actor, tenant) = (actor.clone(), tenant.clone());
    transact(state, move |c| {
        write(c, &row)?;
        let change = Change::new(action, target(&row)).with("mode", tenant.mode.as_str());
        record(c, &owner(&tenant), &actor, &change)?;
        Ok::<_, Abort<AppError>>(())
    })
    .await
}

/// Deletes the tenant's object `id`; false when there was none.
pub async fn delete<T: Audited>(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    id: &str,
) -> Result<bool, AppError> {
    let action =
        T::DELETED.ok_or_else(|| AppError::Internal(format!("{} has no delete", T::KIND)))?;
    let (actor, tenant, id) = (actor.clone(), tenant.clone(), id.to_owned());
    transact(state, move |c| {
        let Some(row) = T::find(c, &tenant, &id)? else {
            return Ok(false);
        };
        if !T::delete(c, &tenant, &id)? {
            return Ok(false);
        }
        let change = Change::new(action, target(&row)).with("mode", tenant.mode.as_str());
        record(c, &owner(&tenant), &actor, &change)?;
        Ok::<_, Abort<AppError>>(true)
    })
    .await
}

/// Queues a run of agent loop `l`.
pub async fn queue_run(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    l: &AgentLoop,
    run: AgentLoopRun,
) -> Result<(), AppError> {
    let (actor, tenant, target) = (actor.clone(), tenant.clone(), target(l));
    transact(state, move |c| {
        AgentLoop::insert_run(c, &run)?;
        let change = Change::new(AuditAction::AgentLoopRunQueued, target)
            .with("run_id", run.id.clone())
            .with("mode", tenant.mode.as_str());
        record(c, &owner(&tenant), &actor, &change)?;
        Ok::<_, Abort<AppError>>(())
    })
    .await
}

/// Why a run's progress was not recorded.
#[derive(Debug)]
pub enum RunProgressError {
    /// No such run of this loop.
    NotFound,
    /// It already finished (`succeeded` or `failed`).
    Finished(&'static str),
    /// Something below failed.
    Failed(AppError),
}

impl From<AppError> for RunProgressError {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

/// Records the executor's report on run `run_id` of loop `l`: `running` starts it
/// (`agent_loop.run.started`), `succeeded` or `failed` finishes it (`agent_loop.run.finished`,
/// its status in the detail). Reporting the status it has is a no-op; a finished run is final.
pub async fn progress_run(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    l: &AgentLoop,
    run_id: &str,
    to: crate::domain::agent_loop::RunStatus,
) -> Result<AgentLoopRun, RunProgressError> {
    use crate::domain::agent_loop::RunStatus;
    let (actor, tenant, target, loop_id, run_id) = (
        actor.clone(),
        tenant.clone(),
        target(l),
        l.id.clone(),
        run_id.to_owned(),
    );
    transact(state, move |c| {
        let mut run = AgentLoop::find_run(c, &loop_id, &run_id)?
            .ok_or(Abort::Refused(RunProgressError::NotFound))?;
        let from = RunStatus::parse(&run.status).unwrap_or(RunStatus::Queued);
        if from == to {
            return Ok(run);
        }
        if from.is_finished() {
            return Err(Abort::Refused(RunProgressError::Finished(from.as_str())));
        }
        run.status = to.as_str().to_owned();
        let action = if to.is_finished() {
            run.finished_at = Some(actor.at);
            AuditAction::AgentLoopRunFinished
        } else {
            run.started_at = Some(actor.at);
            AuditAction::AgentLoopRunStarted
        };
        AgentLoop::save_run(c, &run)?;
        let change = Change::new(action, target)
            .with("run_id", run.id.clone())
            .with("status", to.as_str())
            .with("mode", tenant.mode.as_str());
        record(c, &owner(&tenant), &actor, &change)?;
        Ok(run)
    })
    .await
}
