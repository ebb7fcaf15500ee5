ALTER TABLE `tasks` ADD `recoveries` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_finished_idx` ON `tasks` (`finished_at`);