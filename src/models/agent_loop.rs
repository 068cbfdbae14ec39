//! Agent loops and their run requests.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{agent_loop_runs, agent_loops};
use crate::domain::ids::{AgentLoopId, AgentLoopRunId, ApiKeyId, BotId, TeamId};

/// An agent loop row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = agent_loops)]
pub struct AgentLoop {
    /// Id.
    pub id: AgentLoopId,
    /// Team.
    pub team_id: TeamId,
    /// `live` / `test`.
    pub mode: String,
    /// The bot it drives, if any.
    pub bot_id: Option<BotId>,
    /// Name.
    pub name: String,
    /// Instructions.
    pub instructions: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

crate::tenant_row!(AgentLoop, agent_loops);

/// A run request.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = agent_loop_runs)]
pub struct AgentLoopRun {
    /// Id.
    pub id: AgentLoopRunId,
    /// The loop.
    pub agent_loop_id: AgentLoopId,
    /// `queued` when recorded, then `running`, `succeeded` or `failed` as the executor reports.
    pub status: String,
    /// The caller's input object, as JSON text.
    pub input: String,
    /// Key that requested it.
    pub api_key_id: Option<ApiKeyId>,
    /// Unix seconds.
    pub created_at: i64,
    /// When the executor reported it running.
    pub started_at: Option<i64>,
    /// When it reported it done.
    pub finished_at: Option<i64>,
}

impl AgentLoop {
    /// Inserts a loop.
    pub fn insert(conn: &mut DbConnection, l: &AgentLoop) -> QueryResult<()> {
        diesel::insert_into(agent_loops::table)
            .values(l)
            .execute(conn)
            .map(|_| ())
    }

    /// Records a run request.
    pub fn insert_run(conn: &mut DbConnection, run: &AgentLoopRun) -> QueryResult<()> {
        diesel::insert_into(agent_loop_runs::table)
            .values(run)
            .execute(conn)
            .map(|_| ())
    }

    /// A page of the loop's runs, newest first, after `cursor`.
    pub fn runs(
        conn: &mut DbConnection,
        loop_id: &str,
        cursor: Option<(i64, AgentLoopRunId)>,
        limit: i64,
    ) -> QueryResult<Vec<AgentLoopRun>> {
        let mut q = agent_loop_runs::table
            .filter(agent_loop_runs::agent_loop_id.eq(loop_id))
            .into_boxed();
        if let Some((at, id)) = cursor {
            q = q.filter(
                agent_loop_runs::created_at
                    .lt(at)
                    .or(agent_loop_runs::created_at
                        .eq(at)
                        .and(agent_loop_runs::id.lt(id))),
            );
        }
        q.order((
            agent_loop_runs::created_at.desc(),
            agent_loop_runs::id.desc(),
        ))
        .limit(limit + 1)
        .select(AgentLoopRun::as_select())
        .load(conn)
    }

    /// One run of the loop.
    /// Saves a run's progress (status and its times).
    pub fn save_run(conn: &mut DbConnection, run: &AgentLoopRun) -> QueryResult<()> {
        diesel::update(agent_loop_runs::table.find(&run.id))
            .set((
                agent_loop_runs::status.eq(&run.status),
                agent_loop_runs::started_at.eq(run.started_at),
                agent_loop_runs::finished_at.eq(run.finished_at),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// A run of loop `loop_id`.
    pub fn find_run(
        conn: &mut DbConnection,
        loop_id: &str,
        run_id: &str,
    ) -> QueryResult<Option<AgentLoopRun>> {
        agent_loop_runs::table
            .filter(agent_loop_runs::id.eq(run_id))
            .filter(agent_loop_runs::agent_loop_id.eq(loop_id))
            .select(AgentLoopRun::as_select())
            .first(conn)
            .optional()
    }
}
