-- Identity: users, organizations, collections, roles, sessions, API keys,
-- audit (DESIGN.md section 3).  Owned by the schema owner role "ballast";
-- authd's role ballast_auth may read and write these tables and nothing
-- else.  Applied by `ballastctl db migrate` in one transaction.

CREATE TYPE org_role AS ENUM ('member', 'admin', 'owner');
CREATE TYPE collection_role AS ENUM ('viewer', 'editor', 'admin', 'owner');
CREATE TYPE key_cap AS ENUM ('read', 'read-write');

CREATE TABLE users (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email		text NOT NULL UNIQUE
			CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
	name		text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
	password_hash	text NOT NULL,		-- Argon2id, PHC string
	-- Per-user key salt (keyd derives the user's key from it); deleting
	-- it makes everything sealed for the user unreadable.
	key_salt	bytea NOT NULL CHECK (length(key_salt) = 32),
	disabled	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orgs (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_members (
	org_id		uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
	user_id		uuid NOT NULL REFERENCES users ON DELETE CASCADE,
	role		org_role NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

CREATE TABLE collections (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_by	uuid REFERENCES users ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (org_id, name)
);

CREATE TABLE collection_members (
	collection_id	uuid NOT NULL REFERENCES collections ON DELETE CASCADE,
	user_id		uuid NOT NULL REFERENCES users ON DELETE CASCADE,
	role		collection_role NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (collection_id, user_id)
);
CREATE INDEX collection_members_user ON collection_members (user_id);

-- A login session.  Refresh tokens are stored hashed (SHA-256), one row
-- per token ever issued, so a token used twice is recognised (reuse
-- detection revokes the whole session).
CREATE TABLE sessions (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES users ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	last_used_at	timestamptz,
	revoked_at	timestamptz,
	revoke_reason	text,
	client		text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
	token_hash	bytea PRIMARY KEY CHECK (length(token_hash) = 32),
	session_id	uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	used_at		timestamptz		-- set when rotated
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- API keys "blst_<id>_<secret>": only SHA-256 of the 256-bit secret is
-- kept.  collection_id NULL = every collection of the org.  During a
-- rotation's grace period the previous secret still works.
CREATE TABLE api_keys (
	id		text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
	org_id		uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
	created_by	uuid NOT NULL REFERENCES users ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	secret_hash	bytea NOT NULL CHECK (length(secret_hash) = 32),
	prev_secret_hash bytea CHECK (length(prev_secret_hash) = 32),
	prev_valid_until timestamptz,
	collection_id	uuid REFERENCES collections ON DELETE CASCADE,
	include_personal boolean NOT NULL DEFAULT false,
	cap		key_cap NOT NULL DEFAULT 'read',
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz,
	last_used_at	timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE audit_log (
	id		bigserial PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	org_id		uuid,		-- no foreign key: the trail outlives the org
	actor_user	uuid,
	actor_key	text,
	action		text NOT NULL,
	target		text NOT NULL DEFAULT '',
	outcome		text NOT NULL CHECK (outcome IN ('ok', 'denied', 'error')),
	client		text NOT NULL DEFAULT '',
	request_id	text NOT NULL DEFAULT '',
	detail		jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_org_at ON audit_log (org_id, at DESC);

GRANT SELECT, INSERT, UPDATE, DELETE ON users, orgs, org_members, collections,
    collection_members, sessions, refresh_tokens, api_keys TO ballast_auth;
-- The audit trail is append-only for authd.
GRANT SELECT, INSERT ON audit_log TO ballast_auth;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO ballast_auth;
