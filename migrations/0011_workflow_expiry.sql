-- Result expiry finds the oldest workflows, to delete those whose steps expired.
CREATE INDEX `workflows_created_idx` ON `workflows` (`created_at`);