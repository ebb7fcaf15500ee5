-- The status index carries each task's name too, so the dashboard's failures
-- per task name are counted from the index alone, without reading the rows.
DROP INDEX `tasks_status_created_idx`;--> statement-breakpoint
CREATE INDEX `tasks_status_created_idx` ON `tasks` (`status`,`created_at`,`id`,`name`);