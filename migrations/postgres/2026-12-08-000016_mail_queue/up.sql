-- Mails waiting for the SMTP server (LATCHKEY_SMTP_URL): key-expiry notices are queued in the
-- transaction that records the notice, and sent by the mail job with retries, so a notice is
-- mailed at least once even when the mail server is down for a while. Rows are kept 30 days
-- after they were queued (what was sent, to whom, the last error), then pruned.
CREATE TABLE mail_queue (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    reply_to TEXT,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX mail_queue_due_idx ON mail_queue(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX mail_queue_created_idx ON mail_queue(created_at);
