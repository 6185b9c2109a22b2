-- A document is one (collection, source, external id) per owner: a
-- member's personal "notes" and the shared "notes" of the same collection
-- are two documents.  Before, the shared push of an id that a hidden
-- personal document held failed with a unique violation, which also told
-- the pusher that the hidden document existed.
ALTER TABLE documents
	DROP CONSTRAINT documents_collection_id_source_external_id_key;
ALTER TABLE documents
	ADD CONSTRAINT documents_owner_key
	UNIQUE NULLS NOT DISTINCT (collection_id, source, external_id, owner_user);
