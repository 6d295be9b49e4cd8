-- How many entries of the search index have a place: the total of the HSDS API's
-- unfiltered list of services at locations. Counting them took 0.4-0.65 s of each page at
-- national scale (1.37 million entries; Postgres scans the table rather than the index for a
-- condition nearly every row meets). Only the index rebuild writes search_entries, and it
-- sets this number in the same transaction, so the number is exact.
ALTER TABLE search_generation ADD COLUMN located_entries bigint NOT NULL DEFAULT 0;
UPDATE search_generation SET located_entries = (SELECT count(*) FROM search_entries WHERE location_id IS NOT NULL);
