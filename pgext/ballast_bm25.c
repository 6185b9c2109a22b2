/*
 * ballast_bm25: BM25 term statistics in C, loaded into PostgreSQL.
 *
 * Keyword search ranks every chunk that holds any query word by BM25
 * (indexd/search.c).  In SQL, a chunk's term frequencies take three
 * passes over its tsvector, an unnest and two aggregates; these three
 * functions do the same arithmetic in one call per chunk:
 *
 *   ballast_tf(tsv, lexemes, title_weight) -> int4[]
 *	for each lexeme (in the order given), its number of positions in
 *	tsv, a position of weight A (the title) counting title_weight times;
 *   ballast_df(tf int4[])   aggregate -> int8[]
 *	per element, the number of rows whose tf is above zero;
 *   ballast_bm25(tf, len, idf, avgdl, k1, b) -> float8
 *	sum of idf[i] * tf[i] * (k1 + 1) / (tf[i] + k1 * (1 - b + b * len /
 *	avgdl)), in the order of the arrays.
 *
 * The numbers are the SQL form's: indexd uses these functions when it
 * finds them installed and the SQL otherwise, and the unit tests compare
 * the two.  Nothing here reads anything but its arguments.  Arrays are
 * checked (one dimension, no NULLs, equal lengths, at most MAX_LEXEMES
 * elements) and a wrong one is an error, not a guess.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "tsearch/ts_type.h"
#include "tsearch/ts_utils.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

/* A query's lexemes: websearch input is capped far below this by indexd. */
#define MAX_LEXEMES	1024
#define WEIGHT_A	3

PG_FUNCTION_INFO_V1(ballast_tf);
PG_FUNCTION_INFO_V1(ballast_df_add);
PG_FUNCTION_INFO_V1(ballast_bm25);

static int
nitems(ArrayType *a)
{
	return ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
}

static void
check_array(ArrayType *a, Oid type, const char *what)
{
	if (ARR_ELEMTYPE(a) != type)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
		    errmsg("%s: wrong element type", what)));
	if (ARR_NDIM(a) > 1 || ARR_HASNULL(a))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		    errmsg("%s: must be one-dimensional without NULLs",
		    what)));
	if (nitems(a) > MAX_LEXEMES)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		    errmsg("%s: more than %d elements", what, MAX_LEXEMES)));
}

/* The entry of tsv holding lexeme (len bytes), or NULL: a binary search. */
static WordEntry *
find_lexeme(TSVector tsv, char *lexeme, int len)
{
	WordEntry	*we = ARRPTR(tsv);
	int		 lo = 0, hi = tsv->size;

	while (lo < hi) {
		int	mid = lo + (hi - lo) / 2;
		int	cmp = tsCompareString(STRPTR(tsv) + we[mid].pos,
		    we[mid].len, lexeme, len, false);

		if (cmp == 0)
			return &we[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int32
term_frequency(TSVector tsv, WordEntry *we, int32 title_weight)
{
	WordEntryPos	*pos;
	int32		 n, tf;

	/* A stripped tsvector keeps no positions: the lexeme is there once. */
	if (!we->haspos)
		return 1;
	n = POSDATALEN(tsv, we);
	pos = POSDATAPTR(tsv, we);
	tf = n;
	for (int32 i = 0; i < n; i++)
		if (WEP_GETWEIGHT(pos[i]) == WEIGHT_A)
			tf += title_weight - 1;
	return tf;
}

Datum
ballast_tf(PG_FUNCTION_ARGS)
{
	TSVector	 tsv = PG_GETARG_TSVECTOR(0);
	ArrayType	*lex = PG_GETARG_ARRAYTYPE_P(1);
	int32		 title_weight = PG_GETARG_INT32(2);
	Datum		*elems, *tf;
	int		 n;

	check_array(lex, TEXTOID, "ballast_tf");
	if (title_weight < 1 || title_weight > 100)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		    errmsg("ballast_tf: title weight out of range")));
	deconstruct_array(lex, TEXTOID, -1, false, TYPALIGN_INT, &elems,
	    NULL, &n);
	tf = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++) {
		text		*t = DatumGetTextPP(elems[i]);
		WordEntry	*we = find_lexeme(tsv, VARDATA_ANY(t),
		    VARSIZE_ANY_EXHDR(t));

		tf[i] = Int32GetDatum(we == NULL ? 0 :
		    term_frequency(tsv, we, title_weight));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(tf, n, INT4OID, sizeof(int32),
	    true, TYPALIGN_INT));
}

/*
 * The aggregate's step: state (int8[], NULL before the first row) plus
 * one for each element of tf above zero.  Inside the aggregate the state
 * belongs to it and is changed in place.
 */
Datum
ballast_df_add(PG_FUNCTION_ARGS)
{
	ArrayType	*tf, *st;
	MemoryContext	 aggctx, old;
	int32		*t;
	int64		*s;
	int		 n;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		    errmsg("ballast_df_add: only as ballast_df's step")));
	/* A NULL row counts for nothing (not strict: state may be NULL). */
	if (PG_ARGISNULL(1)) {
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	tf = PG_GETARG_ARRAYTYPE_P(1);
	check_array(tf, INT4OID, "ballast_df");
	n = nitems(tf);
	if (PG_ARGISNULL(0)) {
		Datum	*zero;

		old = MemoryContextSwitchTo(aggctx);
		zero = palloc0(sizeof(Datum) * (n > 0 ? n : 1));
		st = construct_array(zero, n, INT8OID, sizeof(int64),
		    FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		MemoryContextSwitchTo(old);
	} else
		st = PG_GETARG_ARRAYTYPE_P(0);
	if (nitems(st) != n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		    errmsg("ballast_df: arrays of different lengths")));
	t = (int32 *)ARR_DATA_PTR(tf);
	s = (int64 *)ARR_DATA_PTR(st);
	for (int i = 0; i < n; i++)
		if (t[i] > 0)
			s[i]++;
	PG_RETURN_ARRAYTYPE_P(st);
}

Datum
ballast_bm25(PG_FUNCTION_ARGS)
{
	ArrayType	*tfa = PG_GETARG_ARRAYTYPE_P(0);
	int32		 len = PG_GETARG_INT32(1);
	ArrayType	*idfa = PG_GETARG_ARRAYTYPE_P(2);
	float8		 avgdl = PG_GETARG_FLOAT8(3);
	float8		 k1 = PG_GETARG_FLOAT8(4), b = PG_GETARG_FLOAT8(5);
	int32		*tf;
	float8		*idf, norm, score = 0;
	int		 n;

	check_array(tfa, INT4OID, "ballast_bm25");
	check_array(idfa, FLOAT8OID, "ballast_bm25");
	n = nitems(tfa);
	if (nitems(idfa) != n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		    errmsg("ballast_bm25: arrays of different lengths")));
	tf = (int32 *)ARR_DATA_PTR(tfa);
	idf = (float8 *)ARR_DATA_PTR(idfa);
	norm = k1 * (1 - b + b * len / avgdl);
	for (int i = 0; i < n; i++)
		if (tf[i] > 0)
			score += idf[i] * tf[i] * (k1 + 1) / (tf[i] + norm);
	PG_RETURN_FLOAT8(score);
}
