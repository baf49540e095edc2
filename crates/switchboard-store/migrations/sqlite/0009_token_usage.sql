-- Tokens an organization's language models used, per calendar month (UTC),
-- and those reserved by turns in flight: a turn reserves before it calls a
-- model, so the monthly budget (orgs.monthly_token_budget) is never overrun
-- by turns running at once.

CREATE TABLE token_usage (
    org_id   TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    period   TEXT NOT NULL,  -- YYYY-MM
    used     BIGINT NOT NULL,
    reserved BIGINT NOT NULL,
    PRIMARY KEY (org_id, period)
);
