-- Keyword search ranks with BM25 (indexd/search.c) instead of ts_rank_cd,
-- which weighs every word alike and ignores a chunk's length.  BM25 needs
-- each chunk's length in words: the number of lexeme positions of its
-- tsvector (title, metadata strings and text, stop words left out),
-- kept here as a generated column so that every writer gets it right.
--
-- The other statistics (number of chunks, mean length, and each query
-- word's document frequency) are counted at query time over the rows the
-- caller's scope shows, so that they never include what row-level
-- security hides: another collection's chunks or another member's
-- personal ones.
CREATE FUNCTION ballast_tsv_len(tsvector) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0)::integer
	FROM unnest($1) AS u
$$;

ALTER TABLE chunks
	ADD COLUMN len integer NOT NULL GENERATED ALWAYS AS (ballast_tsv_len(tsv)) STORED;

GRANT EXECUTE ON FUNCTION ballast_tsv_len(tsvector) TO ballast_index;
