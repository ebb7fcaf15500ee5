-- A transactional task's work and outcome run in its claim's own D1
-- transaction, and find the runs that claim took by its token. No index: they
-- look each run up by id first.
ALTER TABLE `tasks` ADD `claimed_by` text;
