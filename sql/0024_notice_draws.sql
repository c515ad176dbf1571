-- 0024 A row source for drawing several notice numbers whose size the planner does not guess.
--
-- positions.allocate_notices drew its progressives over generate_series(1, $4). Without the
-- value of $4, PostgreSQL estimates such a series at 1,000 rows, so the generic plan of that
-- prepared statement always looked far dearer than a custom one, and every execution was
-- planned afresh: 0.3 ms per batch of creates (the statement inlines pagohub_make_notice), about
-- 5% of PostgreSQL's time on single creates. A PL/pgSQL function is never inlined: the planner
-- takes its ROWS figure for the custom and the generic plan alike, and the plan cache keeps the
-- generic plan. The figure is a typical batch of creates; an import's larger draws run the same
-- plan (a probe of payment_options_notice_key per number), which is the plan they want anyway.
CREATE FUNCTION pagohub_notice_draws(n integer) RETURNS SETOF integer
    LANGUAGE plpgsql STRICT ROWS 16 PARALLEL SAFE AS $$
BEGIN
    RETURN QUERY SELECT generate_series(1, n);
END $$;

COMMENT ON FUNCTION pagohub_notice_draws(integer) IS
    'generate_series(1, n) with a fixed row estimate, for a prepared statement''s generic plan.';
