-- Content: documents, chunks and their vectors (DESIGN.md section 4).
-- Owned by the schema owner role "ballast"; indexd's role ballast_index
-- may read and write these tables and nothing else, and authd's role has
-- no right on them.
--
-- Row-level security is the second wall behind indexd's own filters.
-- indexd sets, transaction-local, before every content query:
--   ballast.collections  comma-separated collection uuids of the scope
--   ballast.owner        the personal owner's user uuid, '' for none
-- A row is visible (and writable) iff its collection is listed and it
-- is either not personal or belongs to that owner.  With nothing set
-- every table reads empty.  The vector store's loader alone sets
-- ballast.load_all = 'on' to read every vector once at start (indexd keeps
-- them in memory and applies the scope itself before ranking).
--
-- collection_id and owner_user are copied from the document into its
-- chunks and vectors so that each policy is a plain column test.

CREATE TABLE documents (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	collection_id	uuid NOT NULL REFERENCES collections ON DELETE CASCADE,
	source		text NOT NULL DEFAULT '' CHECK (length(source) <= 128),
	owner_user	uuid REFERENCES users ON DELETE CASCADE,
	external_id	text NOT NULL
			CHECK (length(external_id) BETWEEN 1 AND 512),
	title		text NOT NULL DEFAULT '' CHECK (length(title) <= 1024),
	url		text NOT NULL DEFAULT '' CHECK (length(url) <= 2048),
	body		text NOT NULL DEFAULT '',
	metadata	jsonb NOT NULL DEFAULT '{}'
			CHECK (jsonb_typeof(metadata) = 'object'),
	content_hash	bytea NOT NULL CHECK (length(content_hash) = 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	indexed_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (collection_id, source, external_id)
);
CREATE INDEX documents_updated ON documents (collection_id, updated_at);
CREATE INDEX documents_metadata ON documents USING gin (metadata jsonb_path_ops);

-- tsv is computed by indexd's INSERT: the document's title (weight A) and
-- metadata string values (C) with the chunk's text (D), so that title and
-- metadata are searchable from every chunk.
CREATE TABLE chunks (
	id		bigserial PRIMARY KEY,
	document_id	uuid NOT NULL REFERENCES documents ON DELETE CASCADE,
	collection_id	uuid NOT NULL,
	owner_user	uuid,
	position	integer NOT NULL CHECK (position >= 0),
	byte_offset	integer NOT NULL CHECK (byte_offset >= 0),
	text		text NOT NULL,
	tsv		tsvector NOT NULL,
	UNIQUE (document_id, position)
);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_collection ON chunks (collection_id);

-- One float32 vector per chunk, little-endian, dim * 4 bytes: a bytea
-- loads into memory with one memcpy per row.
CREATE TABLE chunk_vectors (
	chunk_id	bigint PRIMARY KEY REFERENCES chunks ON DELETE CASCADE,
	document_id	uuid NOT NULL,
	collection_id	uuid NOT NULL,
	owner_user	uuid,
	embedder	text NOT NULL,
	vec		bytea NOT NULL
);
CREATE INDEX chunk_vectors_document ON chunk_vectors (document_id);

-- The scope test shared by every policy.  STABLE so the planner may use
-- it as an index condition; settings unset read as NULL (nothing
-- visible).
CREATE FUNCTION ballast_in_scope(coll uuid, owner uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT coalesce(current_setting('ballast.load_all', true), '') = 'on'
	    OR (coll = ANY (string_to_array(
		    nullif(current_setting('ballast.collections', true), ''),
		    ',')::uuid[])
		AND (owner IS NULL OR owner = nullif(
		    current_setting('ballast.owner', true), '')::uuid))
$$;

ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
ALTER TABLE chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunks FORCE ROW LEVEL SECURITY;
ALTER TABLE chunk_vectors ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunk_vectors FORCE ROW LEVEL SECURITY;

CREATE POLICY documents_scope ON documents
	USING (ballast_in_scope(collection_id, owner_user))
	WITH CHECK (ballast_in_scope(collection_id, owner_user));
CREATE POLICY chunks_scope ON chunks
	USING (ballast_in_scope(collection_id, owner_user))
	WITH CHECK (ballast_in_scope(collection_id, owner_user));
CREATE POLICY chunk_vectors_scope ON chunk_vectors
	USING (ballast_in_scope(collection_id, owner_user))
	WITH CHECK (ballast_in_scope(collection_id, owner_user));

GRANT SELECT, INSERT, UPDATE, DELETE ON documents, chunks, chunk_vectors
    TO ballast_index;
GRANT USAGE ON SEQUENCE chunks_id_seq TO ballast_index;
GRANT EXECUTE ON FUNCTION ballast_in_scope(uuid, uuid) TO ballast_index;
