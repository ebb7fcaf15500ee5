-- Completion webhooks: where a task's body goes once it is final, and the
-- deliver_webhook task that posts it (set once, so it is dispatched once).
ALTER TABLE `tasks` ADD `callback_url` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `callback_task_id` text;--> statement-breakpoint
CREATE INDEX `tasks_callback_due_idx` ON `tasks` (`finished_at`) WHERE callback_url IS NOT NULL AND callback_task_id IS NULL;