-- BM25's collection statistics kept as chunks change, not counted per query.
--
-- Keyword search (indexd/search.c) needs the number of chunks and their
-- mean length under the caller's scope.  Counting them per query read
-- every chunk of the scope's collections, evaluating the row policy on
-- each: ~20 ms at 12k chunks, ~300 ms at 120k, most of a search.
--
-- chunk_stats holds, per (collection, personal owner or NULL), the number
-- of chunks and the sum of their lengths (chunks.len).  A search sums the
-- rows its scope shows; the row policy is the content's own (ballast_in_scope on
-- the same two columns), so personal chunks count only for their owner's
-- scope, exactly as the count over chunks did.
--
-- The rows are written only by the statement triggers below, from the
-- transition tables of every INSERT, UPDATE and DELETE on chunks,
-- including the deletes cascaded from documents, collections and users
-- (foreign keys; they bypass row-level security, the triggers still
-- fire).  The trigger function is owned by the schema owner, SECURITY
-- DEFINER with a fixed search_path, and reads nothing but the transition
-- tables and chunk_stats.  ballast_index may only read chunk_stats, under
-- the policy.  Row-level security is enabled but, unlike the content
-- tables, not forced: the owner's trigger writes every scope's rows
-- (lifting the scope inside the function would take a SET clause on a
-- custom setting, which PostgreSQL allows only a superuser to declare).
-- Nothing truncates chunks (no role but the owner may).
CREATE TABLE chunk_stats (
	collection_id	uuid NOT NULL,
	owner_user	uuid,
	chunks		bigint NOT NULL CHECK (chunks >= 0),
	total_len	bigint NOT NULL CHECK (total_len >= 0),
	CONSTRAINT chunk_stats_key
	    UNIQUE NULLS NOT DISTINCT (collection_id, owner_user)
);

ALTER TABLE chunk_stats ENABLE ROW LEVEL SECURITY;
CREATE POLICY chunk_stats_scope ON chunk_stats
	USING (ballast_in_scope(collection_id, owner_user))
	WITH CHECK (ballast_in_scope(collection_id, owner_user));
GRANT SELECT ON chunk_stats TO ballast_index;

-- Adds a change of n chunks and l positions to a (collection, owner); a
-- row that reaches zero chunks is removed, so a deleted collection or user
-- leaves nothing behind.  Called only by the trigger function below (which
-- runs as the owner).  The row stays locked until the writer commits, so
-- two transactions writing chunks of the same (collection, owner) take
-- turns (indexd writes through one connection; authd's cascaded deletes
-- of collections and users are rare).
CREATE FUNCTION ballast_chunk_stats_add(coll uuid, owner uuid, n bigint,
    l bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
	left_n	bigint;
BEGIN
	IF n = 0 AND l = 0 THEN
		RETURN;
	END IF;
	-- An update first: a new row's CHECKs apply before ON CONFLICT, so a
	-- removal (negative) can only update.  A missing row is inserted;
	-- for a removal that fails the CHECK, as it should.
	UPDATE public.chunk_stats SET chunks = chunks + n,
	    total_len = total_len + l
	WHERE collection_id = coll AND owner_user IS NOT DISTINCT FROM owner
	RETURNING chunks INTO left_n;
	IF NOT FOUND THEN
		INSERT INTO public.chunk_stats AS s (collection_id, owner_user,
		    chunks, total_len)
		VALUES (coll, owner, n, l)
		ON CONFLICT ON CONSTRAINT chunk_stats_key DO UPDATE SET
		    chunks = s.chunks + excluded.chunks,
		    total_len = s.total_len + excluded.total_len
		RETURNING s.chunks INTO left_n;
	END IF;
	IF left_n = 0 THEN
		DELETE FROM public.chunk_stats WHERE collection_id = coll AND
		    owner_user IS NOT DISTINCT FROM owner;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION ballast_chunk_stats_add(uuid, uuid, bigint, bigint)
    FROM PUBLIC;

-- One statement's rows, grouped per (collection, owner) in key order, so
-- that two writers lock their rows in the same order.  Each branch reads
-- only the transition tables its event has.
CREATE FUNCTION ballast_chunk_stats_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
	d	record;
BEGIN
	IF TG_OP = 'INSERT' THEN
		FOR d IN SELECT collection_id AS c, owner_user AS o,
		    count(*) AS n, sum(len) AS l FROM ballast_new
		    GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST LOOP
			PERFORM public.ballast_chunk_stats_add(d.c, d.o, d.n,
			    d.l);
		END LOOP;
	ELSIF TG_OP = 'DELETE' THEN
		FOR d IN SELECT collection_id AS c, owner_user AS o,
		    count(*) AS n, sum(len) AS l FROM ballast_old
		    GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST LOOP
			PERFORM public.ballast_chunk_stats_add(d.c, d.o, -d.n,
			    -d.l);
		END LOOP;
	ELSE
		FOR d IN SELECT c, o, sum(n)::bigint AS n, sum(l)::bigint AS l
		    FROM (SELECT collection_id AS c, owner_user AS o, 1 AS n,
		    len::bigint AS l FROM ballast_new UNION ALL
		    SELECT collection_id, owner_user, -1, -len::bigint
		    FROM ballast_old) x
		    GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST LOOP
			PERFORM public.ballast_chunk_stats_add(d.c, d.o, d.n,
			    d.l);
		END LOOP;
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION ballast_chunk_stats_apply() FROM PUBLIC;

-- No write may slip between the count below and the triggers.
LOCK TABLE chunks IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER chunks_stats_insert AFTER INSERT ON chunks
	REFERENCING NEW TABLE AS ballast_new
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_chunk_stats_apply();
CREATE TRIGGER chunks_stats_delete AFTER DELETE ON chunks
	REFERENCING OLD TABLE AS ballast_old
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_chunk_stats_apply();
CREATE TRIGGER chunks_stats_update AFTER UPDATE ON chunks
	REFERENCING OLD TABLE AS ballast_old NEW TABLE AS ballast_new
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_chunk_stats_apply();

-- What exists already (the migration runs as the owner, to whom the
-- content's policies apply too).
SET LOCAL ballast.load_all = 'on';
INSERT INTO chunk_stats (collection_id, owner_user, chunks, total_len)
	SELECT collection_id, owner_user, count(*), sum(len)
	FROM chunks GROUP BY collection_id, owner_user;
SET LOCAL ballast.load_all = '';
