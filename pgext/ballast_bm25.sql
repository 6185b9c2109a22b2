-- Keyword ranking in C (pgext/ballast_bm25.c): run by a PostgreSQL
-- superuser in Ballast's database, after the module is installed:
--
--   psql -d ballast -v lib=/usr/local/lib/ballast/ballast_bm25 \
--       -f /usr/local/share/ballast/ballast_bm25.sql
--
-- (lib: where "make install" put the module, without ".so"; the
-- PostgreSQL server's account must be able to read it).  Running it
-- again replaces the functions.  indexd looks for them on each
-- connection and ranks in SQL, with the same numbers, when they are
-- missing.  They read nothing but their arguments.
\set ON_ERROR_STOP on
BEGIN;
CREATE OR REPLACE FUNCTION ballast_tf(tsvector, text[], integer)
	RETURNS integer[] AS :'lib', 'ballast_tf'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION ballast_df_add(bigint[], integer[])
	RETURNS bigint[] AS :'lib', 'ballast_df_add'
	LANGUAGE C PARALLEL SAFE;	-- changes its state in place
CREATE OR REPLACE AGGREGATE ballast_df(integer[]) (
	SFUNC = ballast_df_add, STYPE = bigint[]);
CREATE OR REPLACE FUNCTION ballast_bm25(integer[], integer,
	double precision[], double precision, double precision,
	double precision)
	RETURNS double precision AS :'lib', 'ballast_bm25'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMIT;
