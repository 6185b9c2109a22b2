-- A generation number for authd's credential cache (issue 12).
--
-- authd remembers, per API key and per session, the row its credential
-- check read, and per (user, key's org) what /v1/me answered, each
-- tagged with the generation it was read under.  An entry is used only
-- while auth_generation.gen is still that number, read in the same
-- pipeline as the request (authd/pcache.c).  Every change that could
-- alter a credential check or /v1/me's answer increments gen in the
-- same transaction, so the cache answers exactly as the database would.
--
-- Not counted: inserts of keys, sessions, users and orgs (a new row is
-- not in the cache; reading it is a miss), and the last-use bookkeeping
-- (last_used_at, written by authd itself; the "UPDATE OF" lists name
-- every other column; a migration that adds a column to api_keys or
-- sessions adds it to the list too).  Statement-level triggers: one
-- increment per statement, whatever the number of rows (none included),
-- and they fire for the deletes cascaded by foreign keys too.
CREATE TABLE auth_generation (
	gen	bigint NOT NULL
);
INSERT INTO auth_generation (gen) VALUES (1);
-- One row, ever.
CREATE UNIQUE INDEX auth_generation_one ON auth_generation ((true));

GRANT SELECT ON auth_generation TO ballast_auth;

-- Owned by the schema owner, who alone may write the table; the row
-- lock orders concurrent writers, each transaction commits its own
-- increment together with its change.
CREATE FUNCTION ballast_auth_generation_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
	UPDATE public.auth_generation SET gen = gen + 1;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION ballast_auth_generation_bump() FROM PUBLIC;

CREATE TRIGGER api_keys_auth_generation AFTER UPDATE OF id, org_id,
    created_by, name, secret_hash, prev_secret_hash, prev_valid_until,
    collection_id, include_personal, cap, created_at, expires_at,
    revoked_at OR DELETE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();
CREATE TRIGGER api_keys_auth_generation_truncate AFTER TRUNCATE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();

CREATE TRIGGER sessions_auth_generation AFTER UPDATE OF id, user_id,
    created_at, expires_at, revoked_at, revoke_reason, client
    OR DELETE ON sessions
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();
CREATE TRIGGER sessions_auth_generation_truncate AFTER TRUNCATE ON sessions
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();

-- users has no bookkeeping column: any update counts.
CREATE TRIGGER users_auth_generation AFTER UPDATE OR DELETE ON users
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();
CREATE TRIGGER users_auth_generation_truncate AFTER TRUNCATE ON users
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();

CREATE TRIGGER orgs_auth_generation AFTER UPDATE OR DELETE ON orgs
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();
CREATE TRIGGER orgs_auth_generation_truncate AFTER TRUNCATE ON orgs
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();

CREATE TRIGGER org_members_auth_generation AFTER INSERT OR UPDATE OR DELETE
    ON org_members
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();
CREATE TRIGGER org_members_auth_generation_truncate AFTER TRUNCATE
    ON org_members
	FOR EACH STATEMENT EXECUTE FUNCTION ballast_auth_generation_bump();
