-- The public resource directory: what 211 feeds give us, kept close to Open Referral HSDS 3.0.
--
-- Organizations, services, locations and service-at-locations are rows with their own identity
-- (referrals will point at them, so they are never deleted, only made inactive). Their small
-- child records (phones, schedules, languages, required documents, cost options, service areas,
-- contacts) travel with their parent as JSONB documents in HSDS shape: they are always read and
-- written together with the parent, and the HSDS API returns them nested the same way.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- A feed we import from (e.g. "ky-211", "ilao"). Ids are unique within a source.
CREATE TABLE sources (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE import_runs (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL REFERENCES sources(id),
    format       text NOT NULL,
    full_feed    boolean NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- counts per entity: read, inserted, updated, unchanged, deactivated, rejected
    counts       jsonb NOT NULL DEFAULT '{}',
    -- every rejected row: {file, line, reason}
    rejected     jsonb NOT NULL DEFAULT '[]',
    warnings     jsonb NOT NULL DEFAULT '[]'
);

CREATE TABLE organizations (
    id                 uuid PRIMARY KEY,
    source             text NOT NULL REFERENCES sources(id),
    source_id          text NOT NULL,
    name               text NOT NULL,
    alternate_name     text,
    description        text,
    email              text,
    website            text,
    tax_status         text,
    tax_id             text,
    year_incorporated  integer,
    legal_status       text,
    logo               text,
    uri                text,
    parent_source_id   text,
    phones             jsonb NOT NULL DEFAULT '[]',
    -- Made up by the importer for a service whose organization the feed left out.
    placeholder        boolean NOT NULL DEFAULT false,
    active             boolean NOT NULL DEFAULT true,
    last_modified      timestamptz,
    first_imported_at  timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id)
);

CREATE TABLE locations (
    id                 uuid PRIMARY KEY,
    source             text NOT NULL REFERENCES sources(id),
    source_id          text NOT NULL,
    organization_id    uuid REFERENCES organizations(id),
    location_type      text NOT NULL DEFAULT 'physical',
    name               text,
    alternate_name     text,
    description        text,
    transportation     text,
    url                text,
    latitude           double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude          double precision CHECK (longitude BETWEEN -180 AND 180),
    address_1          text,
    address_2          text,
    city               text,
    region             text,
    state_province     text,
    postal_code        text,
    country            text,
    -- Derived at import from the address / nearest ZIP: what search filters and "open now" need.
    county_fips        text,
    timezone           text,
    phones             jsonb NOT NULL DEFAULT '[]',
    schedules          jsonb NOT NULL DEFAULT '[]',
    languages          jsonb NOT NULL DEFAULT '[]',
    accessibility      jsonb NOT NULL DEFAULT '[]',
    -- Derived from schedules at import: minutes of the week the place is open (local time).
    weekly_hours       int4multirange,
    active             boolean NOT NULL DEFAULT true,
    last_modified      timestamptz,
    first_imported_at  timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id)
);

CREATE TABLE taxonomy_terms (
    id           uuid PRIMARY KEY,
    source       text NOT NULL REFERENCES sources(id),
    source_id    text NOT NULL,
    code         text,
    name         text NOT NULL,
    description  text,
    parent_id    uuid,
    taxonomy     text,
    language     text,
    term_uri     text,
    active       boolean NOT NULL DEFAULT true,
    first_imported_at  timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id)
);

CREATE TABLE services (
    id                       uuid PRIMARY KEY,
    source                   text NOT NULL REFERENCES sources(id),
    source_id                text NOT NULL,
    organization_id          uuid NOT NULL REFERENCES organizations(id),
    program_name             text,
    name                     text NOT NULL,
    alternate_name           text,
    description              text,
    url                      text,
    email                    text,
    status                   text NOT NULL DEFAULT 'active',
    interpretation_services  text,
    application_process      text,
    fees_description         text,
    wait_time                text,
    eligibility_description  text,
    minimum_age              integer,
    maximum_age              integer,
    accreditations           text,
    licenses                 text,
    alert                    text,
    -- When the source last checked the record with the provider ("last verified").
    assured_date             date,
    last_modified            timestamptz,
    phones                   jsonb NOT NULL DEFAULT '[]',
    schedules                jsonb NOT NULL DEFAULT '[]',
    weekly_hours             int4multirange,
    languages                jsonb NOT NULL DEFAULT '[]',
    required_documents       jsonb NOT NULL DEFAULT '[]',
    cost_options             jsonb NOT NULL DEFAULT '[]',
    service_areas            jsonb NOT NULL DEFAULT '[]',
    contacts                 jsonb NOT NULL DEFAULT '[]',
    taxonomy_term_ids        uuid[] NOT NULL DEFAULT '{}',
    -- Derived at import by tested rules (fees text / cost options; service area names).
    is_free                  boolean NOT NULL DEFAULT false,
    coverage_states          text[] NOT NULL DEFAULT '{}',
    coverage_counties        text[] NOT NULL DEFAULT '{}',
    coverage_zips            text[] NOT NULL DEFAULT '{}',
    -- Our category tree (subcategory ids), assigned at import from taxonomy codes.
    category_ids             text[] NOT NULL DEFAULT '{}',
    share_code               text NOT NULL UNIQUE,
    active                   boolean NOT NULL DEFAULT true,
    first_imported_at        timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id)
);
CREATE INDEX services_organization_idx ON services (organization_id);
CREATE INDEX services_taxonomy_idx ON services USING gin (taxonomy_term_ids);

CREATE TABLE service_at_locations (
    id                 uuid PRIMARY KEY,
    source             text NOT NULL REFERENCES sources(id),
    source_id          text NOT NULL,
    service_id         uuid NOT NULL REFERENCES services(id),
    location_id        uuid NOT NULL REFERENCES locations(id),
    description        text,
    phones             jsonb NOT NULL DEFAULT '[]',
    schedules          jsonb NOT NULL DEFAULT '[]',
    weekly_hours       int4multirange,
    share_code         text NOT NULL UNIQUE,
    active             boolean NOT NULL DEFAULT true,
    first_imported_at  timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id)
);
CREATE INDEX service_at_locations_service_idx ON service_at_locations (service_id);
CREATE INDEX service_at_locations_location_idx ON service_at_locations (location_id);

-- Reference places (every US ZIP, shipped with the app): turns "40601", "Frankfort" or
-- "Franklin County" into a point and a county.
CREATE TABLE places (
    zip          text PRIMARY KEY,
    city         text NOT NULL,
    state        text NOT NULL,
    county       text,
    county_fips  text,
    latitude     double precision NOT NULL,
    longitude    double precision NOT NULL,
    timezone     text
);
CREATE INDEX places_city_idx ON places (lower(city), state);
CREATE INDEX places_county_idx ON places (lower(county), state);
CREATE INDEX places_earth_idx ON places USING gist (ll_to_earth(latitude, longitude));

-- Minutes since Monday 00:00 in the given time zone: how "open now" is asked of a weekly
-- schedule stored as an int4multirange of minutes-of-week.
CREATE FUNCTION minute_of_week(at timestamptz, tz text) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ((extract(isodow FROM local) - 1) * 1440
            + extract(hour FROM local) * 60
            + extract(minute FROM local))::integer
    FROM (SELECT at AT TIME ZONE coalesce(tz, 'America/New_York') AS local) t
$$;

-- The search index: one row per active program a resident can find (a service at a location,
-- or a service with no location that serves an area). Rebuilt from the tables above after every
-- import; nothing else writes it.
CREATE TABLE search_entries (
    id                 uuid PRIMARY KEY,          -- service_at_location id, or service id
    source             text NOT NULL,
    service_id         uuid NOT NULL,
    location_id        uuid,
    organization_id    uuid NOT NULL,
    document           tsvector NOT NULL,
    name               text NOT NULL,
    category_ids       text[] NOT NULL,           -- subcategories and their parents
    earth              earth,
    state              text,                      -- where the program is (USPS code)
    county_fips        text,
    area_states        text[] NOT NULL DEFAULT '{}',
    area_counties      text[] NOT NULL DEFAULT '{}',
    area_zips          text[] NOT NULL DEFAULT '{}',
    is_free            boolean NOT NULL DEFAULT false,
    minimum_age        integer,
    maximum_age        integer,
    languages          text[] NOT NULL DEFAULT '{}',
    open_hours         int4multirange,            -- minutes of the week, local time
    timezone           text
);
CREATE INDEX search_entries_document_idx ON search_entries USING gin (document);
CREATE INDEX search_entries_category_idx ON search_entries USING gin (category_ids);
CREATE INDEX search_entries_earth_idx ON search_entries USING gist (earth);
CREATE INDEX search_entries_county_idx ON search_entries (county_fips);
CREATE INDEX search_entries_state_idx ON search_entries (state);
CREATE INDEX search_entries_area_states_idx ON search_entries USING gin (area_states);
CREATE INDEX search_entries_area_counties_idx ON search_entries USING gin (area_counties);
CREATE INDEX search_entries_area_zips_idx ON search_entries USING gin (area_zips);
CREATE INDEX search_entries_source_idx ON search_entries (source);
CREATE INDEX search_entries_service_idx ON search_entries (service_id);
CREATE INDEX search_entries_location_idx ON search_entries (location_id);

-- Words that occur in the directory: typo tolerance rewrites an unknown search word to the
-- nearest known one (pg_trgm).
CREATE TABLE search_words (
    word  text PRIMARY KEY
);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);
