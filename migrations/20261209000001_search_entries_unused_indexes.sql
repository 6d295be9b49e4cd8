-- Search is answered from the index each server holds (app/src/directory/held.rs), which reads
-- the whole table. Two indexes only the old SQL search used go: by state, and the partial one
-- for programs of no known place. Every import's rebuild paid for them.
DROP INDEX IF EXISTS search_entries_state_idx;
DROP INDEX IF EXISTS search_entries_placeless_idx;
