-- Row-level security reads the request's scope once per statement.
--
-- The content policies (010, 014, 016, 017) call ballast_in_scope(), an
-- SQL function PostgreSQL inlines into every row's check: each row read
-- or written evaluated current_setting() three times and parsed the
-- scope's collection list into a uuid[] again.  The same test with each
-- setting in a scalar subquery is computed once per statement (an
-- "initplan") and compared per row: at 100k chunks that took a keyword
-- search's ranking statement from 8.5-9.3 to 5.9-7.5 ms (issue 12).
-- The meaning is the function's exactly, for reads (USING) and writes
-- (WITH CHECK): load_all, or a collection of the scope and a row that
-- is shared or the scope owner's.  (The second ::uuid[] makes "= ANY"
-- take the subquery's one value as the array, not its rows.)
-- ballast_in_scope() stays, for anything else that asks.  (A function
-- cannot carry the subqueries: PostgreSQL does not inline one that has
-- them, and would then call it per row.)
DO $$
DECLARE
	expr text := '(SELECT coalesce(current_setting(''ballast.load_all'', '
	    'true), '''') = ''on'') OR (collection_id = ANY ((SELECT '
	    'string_to_array(nullif(current_setting(''ballast.collections'', '
	    'true), ''''), '','')::uuid[])::uuid[]) AND (owner_user IS NULL OR '
	    'owner_user = (SELECT nullif(current_setting(''ballast.owner'', '
	    'true), '''')::uuid)))';
	p record;
BEGIN
	FOR p IN SELECT * FROM (VALUES
	    ('documents_scope', 'documents'), ('chunks_scope', 'chunks'),
	    ('chunk_vectors_scope', 'chunk_vectors'),
	    ('sources_scope', 'sources'), ('sync_jobs_scope', 'sync_jobs'),
	    ('oauth_states_scope', 'oauth_states'),
	    ('chunk_stats_scope', 'chunk_stats')) AS v(pol, tab)
	LOOP
		EXECUTE format('ALTER POLICY %I ON %I USING (%s) WITH CHECK (%s)',
		    p.pol, p.tab, expr, expr);
	END LOOP;
END
$$;
