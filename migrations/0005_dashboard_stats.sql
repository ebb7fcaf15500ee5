DROP INDEX `tasks_finished_idx`;--> statement-breakpoint
CREATE INDEX `tasks_finished_status_idx` ON `tasks` (`finished_at`,`status`) WHERE finished_at IS NOT NULL;