-- Flow control: why a task's last delivery was held back by a rate or
-- concurrency limit, and a partial index so the dashboard lists only those.
ALTER TABLE `tasks` ADD `waiting` text;--> statement-breakpoint
CREATE INDEX `tasks_waiting_idx` ON `tasks` (`updated_at`) WHERE waiting IS NOT NULL;