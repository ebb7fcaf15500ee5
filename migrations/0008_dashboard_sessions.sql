CREATE TABLE `dashboard_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`token_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dashboard_sessions_expires_idx` ON `dashboard_sessions` (`expires_at`);--> statement-breakpoint
-- users.email becomes lower case, so that its unique index is case-insensitive.
-- Existing addresses that differ only in case cannot all be lowered, so in
-- each such group exactly one row gets the lower-case address: the one that
-- already has it, else the earliest created (then the lowest id). The group's
-- other rows keep their address unchanged: nothing is deleted or merged, and
-- tasks that name their ids still find them. Every other address is lowered.
-- A new address that matches any of them in some case is then refused, as
-- the lower-case one exists. Lowering a row never collides: no other row of
-- its group is lower case.
UPDATE `users` SET `email` = lower(`email`)
WHERE `email` <> lower(`email`)
	AND NOT EXISTS (
		SELECT 1 FROM `users` AS `other`
		WHERE lower(`other`.`email`) = lower(`users`.`email`) AND `other`.`id` <> `users`.`id`
			AND (`other`.`email` = lower(`other`.`email`)
				OR `other`.`created_at` < `users`.`created_at`
				OR (`other`.`created_at` = `users`.`created_at` AND `other`.`id` < `users`.`id`))
	);
--> statement-breakpoint
-- From now on, only lower case: the API lowers addresses itself; these
-- refuse any other writer's. The rows left as they were above stay readable.
CREATE TRIGGER `users_email_lower_case_insert` BEFORE INSERT ON `users`
WHEN NEW.`email` <> lower(NEW.`email`)
BEGIN
	SELECT RAISE(ABORT, 'users.email must be lower case');
END;
--> statement-breakpoint
CREATE TRIGGER `users_email_lower_case_update` BEFORE UPDATE OF `email` ON `users`
WHEN NEW.`email` <> lower(NEW.`email`)
BEGIN
	SELECT RAISE(ABORT, 'users.email must be lower case');
END;
