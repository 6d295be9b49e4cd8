-- How the search index's rows were made (app::directory::index::DOCUMENT_VERSION): when the
-- code makes them differently (2: eligibility counts as little as the organization's name),
-- `server migrate` rebuilds every source's rows, and `server serve` refuses rows made the old
-- way. Rows already here were made by version 1.
ALTER TABLE search_generation ADD COLUMN document_version integer NOT NULL DEFAULT 1;
