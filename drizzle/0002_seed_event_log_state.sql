-- The event log's single bookkeeping row: nothing has been pruned yet.
INSERT INTO "event_log_state" ("singleton", "pruned_through") VALUES (true, 0) ON CONFLICT DO NOTHING;
