-- Agent loop runs report progress (issue 13): the platform's executor moves a run from
-- `queued` to `running` and to `succeeded` or `failed` through the API; each step is an
-- event (`agent_loop.run.started`, `agent_loop.run.finished`).
ALTER TABLE agent_loop_runs ADD COLUMN started_at BIGINT;
ALTER TABLE agent_loop_runs ADD COLUMN finished_at BIGINT;
