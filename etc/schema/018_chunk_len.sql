-- chunks.len (migration 013) is written by indexd's INSERT instead of a
-- generated column.  A generated column over ballast_tsv_len() ran that
-- SQL function once per row, and a SQL function that PostgreSQL cannot
-- inline starts and ends a whole executor on every call: 12 % of the
-- backend's CPU during ingest.  indexd counts the same positions in the
-- same statement (a sub-select over unnest(tsv), planned once).
--
-- Any other writer still gets len right: an INSERT that leaves len out
-- (NULL) has it computed, and an UPDATE that changes tsv or len has it
-- recomputed from tsv, so len can never disagree with tsv through an
-- UPDATE.  chunk_stats' triggers (017) read len after these.
ALTER TABLE chunks ALTER COLUMN len DROP EXPRESSION;

CREATE FUNCTION ballast_chunk_len() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
	NEW.len := public.ballast_tsv_len(NEW.tsv);
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION ballast_chunk_len() FROM PUBLIC;

CREATE TRIGGER chunks_len_insert BEFORE INSERT ON chunks
	FOR EACH ROW WHEN (NEW.len IS NULL)
	EXECUTE FUNCTION ballast_chunk_len();
CREATE TRIGGER chunks_len_update BEFORE UPDATE ON chunks
	FOR EACH ROW WHEN (NEW.tsv IS DISTINCT FROM OLD.tsv OR
	    NEW.len IS DISTINCT FROM OLD.len)
	EXECUTE FUNCTION ballast_chunk_len();
