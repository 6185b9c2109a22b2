-- Deployment secrets: the API keys indexd itself uses (Qdrant's, the
-- embedding server's), set with `ballastctl secret set NAME` and stored
-- only as keyd sealed them (context org "deployment", source = name).
-- No collection owns them, so no row-level security: only indexd's role
-- may read them, and it opens each with keyd at start.
CREATE TABLE deploy_secrets (
	name		text PRIMARY KEY
			CHECK (name ~ '^[a-z][a-z0-9-]{0,63}$'),
	sealed		bytea NOT NULL CHECK (length(sealed) > 0),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON deploy_secrets TO ballast_index;
