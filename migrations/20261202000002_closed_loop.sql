-- Outcome data that is true (issue 10). The shared close form sent its default not-provided
-- reason along with "resource provided", so provided closures were stored (and counted) as
-- "provided · unable to reach". Such rows lose the reason, their history says so, and the
-- database refuses it from now on.
INSERT INTO referral_events (referral_id, kind, detail)
SELECT id, 'corrected', jsonb_build_object(
           'field', 'outcome_reason', 'removed', outcome_reason,
           'why', 'a referral closed as resource provided carries no not-provided reason')
  FROM referrals
 WHERE status = 'resource_provided' AND outcome_reason IS NOT NULL;

UPDATE referrals SET outcome_reason = NULL, version = version + 1
 WHERE status = 'resource_provided' AND outcome_reason IS NOT NULL;

ALTER TABLE referrals
    ADD CONSTRAINT referrals_provided_has_no_reason
        CHECK (status <> 'resource_provided' OR outcome_reason IS NULL),
    ADD CONSTRAINT referrals_not_provided_has_a_reason
        CHECK (status <> 'resource_not_provided' OR outcome_reason IS NOT NULL);

-- Times on partner pages are shown in the zone of the partner's own place, looked up on every
-- signed-in request.
CREATE INDEX search_entries_organization_idx ON search_entries (organization_id);

-- Text messages go through the same durable outbox as e-mail (to_address is the number in
-- E.164 form), to an HTTP provider.
ALTER TABLE outbox ADD COLUMN channel text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms'));

-- Replies to our texts that stop (STOP, QUIT, END, REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE) or
-- resume (START) texting a number: kept as evidence, never updated or deleted. A number whose
-- latest word is a stop is never texted.
CREATE TABLE sms_opt_events (
    id           bigserial PRIMARY KEY,
    phone        text NOT NULL,
    opted_out    boolean NOT NULL,
    body         text NOT NULL,
    message_sid  text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_opt_events_phone_idx ON sms_opt_events (phone, id DESC);

-- When a closed program opens next: the start of its next opening this week after `now_minute`
-- (minutes since Monday 00:00, local time), or its first opening next week.
CREATE FUNCTION next_opening(hours int4multirange, now_minute integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT min(lower(r)) FROM unnest(hours) r WHERE lower(r) > now_minute),
        (SELECT min(lower(r)) FROM unnest(hours) r))
$$;
