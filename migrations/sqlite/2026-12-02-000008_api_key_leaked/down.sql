UPDATE audit_events SET action = 'api_key.reported_leaked' WHERE action = 'api_key.leaked';
UPDATE outbox_events
   SET event_type = 'api_key.reported_leaked',
       payload = REPLACE(payload, '"type":"api_key.leaked"', '"type":"api_key.reported_leaked"')
 WHERE event_type = 'api_key.leaked';
