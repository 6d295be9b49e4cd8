-- Finding residents at statewide scale (1 million records): trigram similarity over whole
-- names reads tens of thousands of rows for a common name. Names are searched by their words
-- instead: each record keeps its name's words (lower case, no accents) under a GIN index, and
-- a vocabulary of every word in any name lets a search word that is misspelt find the real
-- ones (same sound by Double Metaphone, a close spelling by trigrams, or a prefix).

CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

CREATE FUNCTION resident_name_words(name text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}')
      FROM regexp_split_to_table(lower(unaccent(coalesce(name, ''))), '[^[:alnum:]]+') AS w
     WHERE w <> ''
$$;

CREATE TABLE resident_name_vocabulary (
    word   text PRIMARY KEY,
    sound  text NOT NULL
);
CREATE INDEX resident_name_vocabulary_sound_idx ON resident_name_vocabulary (sound);
CREATE INDEX resident_name_vocabulary_trgm_idx ON resident_name_vocabulary USING gin (word gin_trgm_ops);

ALTER TABLE residents ADD COLUMN name_words text[] NOT NULL DEFAULT '{}';

CREATE FUNCTION residents_name_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.name_words := resident_name_words(NEW.name);
    INSERT INTO resident_name_vocabulary (word, sound)
    SELECT w, dmetaphone(w) FROM unnest(NEW.name_words) AS w
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER residents_name_words BEFORE INSERT OR UPDATE OF name ON residents
    FOR EACH ROW EXECUTE FUNCTION residents_name_words();

UPDATE residents SET name_words = resident_name_words(name);
INSERT INTO resident_name_vocabulary (word, sound)
SELECT DISTINCT w, dmetaphone(w) FROM residents, unnest(name_words) AS w
ON CONFLICT DO NOTHING;

CREATE INDEX residents_name_words_idx ON residents USING gin (name_words) WHERE retired_at IS NULL;
DROP INDEX residents_name_trgm_idx;
