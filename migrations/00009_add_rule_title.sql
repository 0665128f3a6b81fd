-- +goose Up

-- The rule's title as the rule set had it when the result was written, so
-- that reports name the rule without loading the rule files.
ALTER TABLE rule_results ADD COLUMN title text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE rule_results DROP COLUMN title;
