DROP INDEX `tasks_status_created_idx`;--> statement-breakpoint
DROP INDEX `tasks_name_created_idx`;--> statement-breakpoint
DROP INDEX `tasks_created_idx`;--> statement-breakpoint
ALTER TABLE `tasks` ADD `due_at` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `retry_of` text;--> statement-breakpoint
CREATE INDEX `tasks_status_created_idx` ON `tasks` (`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_name_created_idx` ON `tasks` (`name`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_created_idx` ON `tasks` (`created_at`,`id`);