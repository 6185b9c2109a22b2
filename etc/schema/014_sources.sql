-- Sources and sync jobs (issue 6; docs/notes "sources-api").  A source is
-- a place indexd syncs documents from (files, postgres, http, imap, ...)
-- into one collection, shared or personal; a sync job is one run of it.
-- Documents a source syncs carry documents.source = the source's id.
--
-- Both tables live under the same row-level security as the content
-- (ballast_in_scope, 010_content.sql): indexd sets the request's scope,
-- and only its scheduler sets ballast.load_all to see every row.
--
-- credentials holds the sealed bytes keyd made (the front seals, keyd
-- alone can open); nothing here is ever the clear credential.

CREATE TABLE sources (
	id		uuid PRIMARY KEY,	-- chosen by the front (AAD of the seal)
	collection_id	uuid NOT NULL REFERENCES collections ON DELETE CASCADE,
	org_id		uuid NOT NULL,
	owner_user	uuid REFERENCES users ON DELETE CASCADE,
	type		text NOT NULL CHECK (type IN ('files', 'postgres',
			    'http', 'imap', 'gmail', 'gdrive')),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	config		jsonb NOT NULL DEFAULT '{}'
			CHECK (jsonb_typeof(config) = 'object'),
	credentials	bytea,
	credentials_rotated_at timestamptz,
	schedule_seconds integer NOT NULL DEFAULT 0
			CHECK (schedule_seconds = 0 OR
			    schedule_seconds BETWEEN 60 AND 604800),
	next_run_at	timestamptz,
	cursor		text NOT NULL DEFAULT '' CHECK (length(cursor) <= 4096),
	created_by	uuid,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sources_collection ON sources (collection_id, created_at);
-- the scheduler's scan for due sources
CREATE INDEX sources_next_run ON sources (next_run_at)
	WHERE next_run_at IS NOT NULL;

CREATE TABLE sync_jobs (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	source_id	uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
	collection_id	uuid NOT NULL,
	owner_user	uuid,
	state		text NOT NULL DEFAULT 'pending' CHECK (state IN
			    ('pending', 'running', 'succeeded', 'failed',
			    'cancelled')),
	trigger		text NOT NULL CHECK (trigger IN ('manual', 'schedule',
			    'retry')),
	attempt		integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
	cancel_requested boolean NOT NULL DEFAULT false,
	run_after	timestamptz NOT NULL DEFAULT now(),
	worker		text CHECK (length(worker) <= 300),
	heartbeat_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	started_at	timestamptz,
	finished_at	timestamptz,
	added		integer NOT NULL DEFAULT 0,
	updated		integer NOT NULL DEFAULT 0,
	unchanged	integer NOT NULL DEFAULT 0,
	deleted		integer NOT NULL DEFAULT 0,
	failed		integer NOT NULL DEFAULT 0,
	error		text CHECK (length(error) <= 1024)
);
-- At most one pending or running job per source.
CREATE UNIQUE INDEX sync_jobs_active ON sync_jobs (source_id)
	WHERE state IN ('pending', 'running');
-- claim order: pending jobs by age; running ones by heartbeat (the lease)
CREATE INDEX sync_jobs_pending ON sync_jobs (created_at)
	WHERE state = 'pending';
CREATE INDEX sync_jobs_running ON sync_jobs (heartbeat_at)
	WHERE state = 'running';
CREATE INDEX sync_jobs_source ON sync_jobs (source_id, created_at DESC);

ALTER TABLE sources ENABLE ROW LEVEL SECURITY;
ALTER TABLE sources FORCE ROW LEVEL SECURITY;
ALTER TABLE sync_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_jobs FORCE ROW LEVEL SECURITY;

CREATE POLICY sources_scope ON sources
	USING (ballast_in_scope(collection_id, owner_user))
	WITH CHECK (ballast_in_scope(collection_id, owner_user));
CREATE POLICY sync_jobs_scope ON sync_jobs
	USING (ballast_in_scope(collection_id, owner_user))
	WITH CHECK (ballast_in_scope(collection_id, owner_user));

GRANT SELECT, INSERT, UPDATE, DELETE ON sources, sync_jobs TO ballast_index;
-- To open a personal source's credential indexd gives keyd the owner's
-- key salt (a salt is not a secret); nothing else of users.
GRANT SELECT (id, key_salt) ON users TO ballast_index;
