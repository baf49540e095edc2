-- Visitor tokens expire: a token is good for the configured time after it
-- was last renewed (issued, or resumed by the widget on a returning visit).
ALTER TABLE visitors ADD COLUMN renewed_at BIGINT NOT NULL DEFAULT 0;
UPDATE visitors SET renewed_at = created_at;
