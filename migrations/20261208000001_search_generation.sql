-- Which rebuild of the search index is current. Each server holds a copy of the index in
-- memory (app::directory::held); a rebuild bumps this number in its own transaction, so a
-- server that reads the number and the rows in one snapshot knows which rebuild it holds, and
-- sees another process's import (the command line, another server) by the number changing.
CREATE TABLE search_generation (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL
);
INSERT INTO search_generation (generation) VALUES (1);
