ALTER TABLE agent_loop_runs DROP COLUMN finished_at;
ALTER TABLE agent_loop_runs DROP COLUMN started_at;
