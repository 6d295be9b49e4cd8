-- Programs whose feed gives no place at all (no address, no service area) are never left out
-- of a search (issue 14). This partial index lets that branch of the search's "near the place,
-- serving it, or of no known place" condition join the others in one bitmap scan; without it
-- the whole condition became a sequential scan (a count took ~100 ms at Kentucky scale).
CREATE INDEX search_entries_placeless_idx ON search_entries (id)
    WHERE earth IS NULL AND state IS NULL AND area_states = '{}' AND area_counties = '{}' AND area_zips = '{}';
