-- Workflows (chains, groups, chords), and tasks recorded before their message
-- is sent (workflow steps waiting their turn, tasks due beyond the queue's
-- delay limit, outbox tasks): see src/engine/workflows/ and release.ts.
CREATE TABLE `workflows` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`members` integer NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`callback_id` text,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL
);
--> statement-breakpoint
ALTER TABLE `tasks` ADD `workflow_id` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `workflow_step` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `result_as` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `unsent` integer;--> statement-breakpoint
CREATE INDEX `tasks_workflow_idx` ON `tasks` (`workflow_id`,`workflow_step`) WHERE workflow_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_unsent_idx` ON `tasks` (`due_at`) WHERE unsent = 1;--> statement-breakpoint
-- A workflow step that reaches SUCCESS, FAILURE or REVOKED moves its workflow
-- on in the same transaction as the write that finished it, whichever path
-- wrote it (the consumer, a revoke, a dead letter, stuck-task recovery). The
-- move from a non-final state happens once per task (every outcome is fenced),
-- so a redelivery or a whole-batch retry counts nothing twice. A released step
-- gets due_at = now; release.ts sends it. Triggers do not fire from a
-- trigger's own writes (SQLite's recursive_triggers is off).
CREATE TRIGGER `tasks_workflow_step_finished` AFTER UPDATE OF `status` ON `tasks`
WHEN NEW.`workflow_id` IS NOT NULL
	AND NEW.`status` IN ('SUCCESS', 'FAILURE', 'REVOKED')
	AND OLD.`status` NOT IN ('SUCCESS', 'FAILURE', 'REVOKED')
BEGIN
	-- A member of a group or chord (not the chord's callback) is done.
	UPDATE `workflows` SET `done` = `done` + 1
	WHERE `id` = NEW.`workflow_id` AND `callback_id` IS NOT NEW.`id`;
	-- A chain: success releases the next step, with the result in its input
	-- if it asks for it.
	UPDATE `tasks` SET
		`due_at` = CAST(unixepoch('subsec') * 1000 AS INTEGER),
		`payload` = CASE WHEN `result_as` IS NULL THEN `payload`
			ELSE json_set(`payload`, '$.' || `result_as`, json(coalesce(NEW.`result`, 'null'))) END
	WHERE NEW.`status` = 'SUCCESS'
		AND `workflow_id` = NEW.`workflow_id` AND `workflow_step` = NEW.`workflow_step` + 1
		AND `status` = 'PENDING' AND `unsent` = 1 AND `due_at` IS NULL
		AND (SELECT `kind` FROM `workflows` WHERE `id` = NEW.`workflow_id`) = 'chain';
	-- A chain: a step that did not succeed ends it; the steps after it never run.
	UPDATE `tasks` SET
		`status` = 'REVOKED', `unsent` = NULL,
		`finished_at` = CAST(unixepoch('subsec') * 1000 AS INTEGER),
		`updated_at` = CAST(unixepoch('subsec') * 1000 AS INTEGER),
		`error` = 'chain ended at step ' || (NEW.`workflow_step` + 1) || ' (' || NEW.`name` || ' ' || NEW.`id` || '), which ended ' || NEW.`status`
	WHERE NEW.`status` <> 'SUCCESS'
		AND `workflow_id` = NEW.`workflow_id` AND `workflow_step` > NEW.`workflow_step`
		AND `status` = 'PENDING'
		AND (SELECT `kind` FROM `workflows` WHERE `id` = NEW.`workflow_id`) = 'chain';
	-- A chord: the last member releases the callback, with every member's
	-- outcome in member order.
	UPDATE `tasks` SET
		`due_at` = CAST(unixepoch('subsec') * 1000 AS INTEGER),
		`payload` = json_set(`payload`, '$.' || coalesce(`result_as`, 'results'), (
			SELECT json_group_array(json_object(
				'task_id', m.`id`, 'name', m.`name`, 'status', m.`status`,
				'result', json(coalesce(m.`result`, 'null')), 'error', m.`error`) ORDER BY m.`workflow_step`)
			FROM `tasks` AS m
			WHERE m.`workflow_id` = NEW.`workflow_id` AND m.`id` IS NOT `tasks`.`id`))
	WHERE `id` = (
			SELECT `callback_id` FROM `workflows`
			WHERE `id` = NEW.`workflow_id` AND `kind` = 'chord' AND `done` = `members`)
		AND `status` = 'PENDING' AND `unsent` = 1 AND `due_at` IS NULL;
END;
