-- OAuth sources (issue 7): Gmail and Google Drive.
--
-- sources.needs_reauth: the provider revoked the source's grant (a token
-- refresh answered invalid_grant).  The scheduler skips such a source and
-- a manual sync is refused until the owner authorizes it again.
--
-- oauth_states: one row per authorization started with
-- POST /v1/sources/{id}/oauth/start, bound to the user who started it and
-- the source, single-use (the callback deletes it) and expiring.  Only
-- the SHA-256 of the state is kept; the PKCE verifier is not stored at
-- all: indexd derives it from the state with a key only it holds.
ALTER TABLE sources ADD COLUMN needs_reauth boolean NOT NULL DEFAULT false;

ALTER TABLE sync_jobs DROP CONSTRAINT sync_jobs_trigger_check;
ALTER TABLE sync_jobs ADD CONSTRAINT sync_jobs_trigger_check
	CHECK (trigger IN ('manual', 'schedule', 'retry', 'oauth'));

CREATE TABLE oauth_states (
	state_hash	bytea PRIMARY KEY CHECK (length(state_hash) = 32),
	source_id	uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
	collection_id	uuid NOT NULL,
	owner_user	uuid,
	user_id		uuid NOT NULL,
	expires_at	timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);

ALTER TABLE oauth_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_states FORCE ROW LEVEL SECURITY;
CREATE POLICY oauth_states_scope ON oauth_states
	USING (ballast_in_scope(collection_id, owner_user))
	WITH CHECK (ballast_in_scope(collection_id, owner_user));

GRANT SELECT, INSERT, DELETE ON oauth_states TO ballast_index;
