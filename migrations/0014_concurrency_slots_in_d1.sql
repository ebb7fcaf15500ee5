-- Concurrency limits move from the FlowControl Durable Object into the claim:
-- a run under one holds a slot of its key while its row is STARTED with a
-- live lease. flow_key is that key; the partial index holds only the rows
-- holding a slot, so the claim counts a key's slots from it alone, and only
-- limited runs pay its writes.
ALTER TABLE `tasks` ADD `flow_key` text;--> statement-breakpoint
CREATE INDEX `tasks_slots_idx` ON `tasks` (`name`,`flow_key`,`lease_expires_at`) WHERE status = 'STARTED' AND flow_key IS NOT NULL;