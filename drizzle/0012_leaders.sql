-- The alert evaluator's row says which process leads, not how long an instance lives: "lease" now means only the TTL lease.
ALTER TABLE "leases" RENAME TO "leaders";