-- The leak report's event is `api_key.leaked`, the name webhook receivers subscribe to (issue
-- 13's catalogue); one vocabulary for the audit log, its exports, /v1/audit-events and the
-- outbox. Nothing has been delivered yet, so the stored payloads are renamed too.
UPDATE audit_events SET action = 'api_key.leaked' WHERE action = 'api_key.reported_leaked';
UPDATE outbox_events
   SET event_type = 'api_key.leaked',
       payload = REPLACE(payload, '"type":"api_key.reported_leaked"', '"type":"api_key.leaked"')
 WHERE event_type = 'api_key.reported_leaked';
