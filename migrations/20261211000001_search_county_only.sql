-- Programs whose eligibility limits them to a county's residents ("Residents of the county",
-- "County renters with a past-due notice", "Students in county schools"): search ranks them
-- after what a resident of another county can use (app/src/directory/held.rs). One function,
-- used by the index's rebuild (app/src/directory/index.rs) and to mark the rows already there.
-- Words that open the program to every county ("all counties", "every county", "statewide")
-- leave it unmarked: when in doubt, a program is not held back.
CREATE FUNCTION eligibility_limits_to_a_county(eligibility text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(eligibility ~* '\m(county|counties|condado|condados)\M'
                    AND eligibility !~* '\m(statewide|nationwide)\M'
                    AND eligibility !~* '\m(all|any of the|todos|todas)\M[^.]{0,30}\m(counties|condados)\M'
                    AND eligibility !~* '\mevery\M[^.]{0,30}\mcounty\M',
                    false) $$;

ALTER TABLE search_entries ADD COLUMN county_only boolean NOT NULL DEFAULT false;

UPDATE search_entries e SET county_only = true
  FROM services s
 WHERE s.id = e.service_id AND eligibility_limits_to_a_county(s.eligibility_description);
