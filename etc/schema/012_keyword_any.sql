-- Keyword search matches documents that hold ANY of the query's words and
-- ranks those that hold more of them, closer together, higher
-- (ts_rank_cd).  websearch_to_tsquery demanded every word, so a question
-- asked in a sentence found nothing.  Lexemes are quoted, so no query text
-- is ever parsed as tsquery syntax.
CREATE FUNCTION ballast_any_query(q text) RETURNS tsquery
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(string_agg(quote_literal(l), ' | '), '')::tsquery
	FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, q)))
	    AS l
$$;

-- The full-text index can serve a query under row-level security only if
-- the match operator is leakproof; that takes a superuser, so the
-- migration (run as the schema owner) can only say so.  scripts/pg-cluster
-- does it for the clusters it makes; see ballastctl(8), "db migrate".
DO $$
BEGIN
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
	ELSIF NOT (SELECT proleakproof FROM pg_proc
	    WHERE oid = 'pg_catalog.ts_match_vq(tsvector, tsquery)'::regprocedure) THEN
		RAISE WARNING 'keyword search cannot use its index under row-level security until a superuser runs: ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF';
	END IF;
END
$$;
