//! The site and the HSDS API over HTTP: pages render on the server, bad input is a 4xx with a
//! plain message, and API responses match the HSDS 3.0 JSON schemas.

mod common;

use common::*;
use serde_json::Value;
use sqlx::PgPool;

fn schema(path: &str) -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(shared(&format!("hsds/spec-3.0/schema/{path}"))).expect("schema");
    let mut schema: Value = serde_json::from_str(&text).expect("schema json");
    // taxonomy_term.json refers to sibling files; inline them so nothing is fetched.
    inline_refs(&mut schema);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("valid schema")
}

fn inline_refs(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref").cloned() {
                if !r.starts_with('#') {
                    let text =
                        std::fs::read_to_string(shared(&format!("hsds/spec-3.0/schema/{r}")))
                            .expect("ref");
                    let mut inner: Value = serde_json::from_str(&text).expect("ref json");
                    if let Some(io) = inner.as_object_mut() {
                        // Referenced files refer back to others; one level is what the API nests.
                        io.retain(|k, _| k != "$id");
                        for (_, p) in io
                            .get_mut("properties")
                            .and_then(|p| p.as_object_mut())
                            .into_iter()
                            .flatten()
                        {
                            if p.get("$ref").is_some()
                                || p.get("items").and_then(|i| i.get("$ref")).is_some()
                            {
                                *p = serde_json::json!({});
                            }
                        }
                    }
                    *v = inner;
                    return;
                }
            }
            for (_, child) in o.iter_mut() {
                inline_refs(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(inline_refs),
        _ => {}
    }
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the HSDS schema:\n{}",
        errors.join("\n")
    );
}

async fn any_program(app: &TestApp) -> (uuid::Uuid, String, String) {
    sqlx::query_as(
        "SELECT e.id, sal.share_code, s.name FROM search_entries e JOIN service_at_locations sal ON sal.id = e.id
         JOIN services s ON s.id = e.service_id WHERE 'food-pantries' = ANY(e.category_ids) ORDER BY e.id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn resident_pages_render_on_the_server(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool).await;

    let (status, home) = app.page("/").await;
    assert_eq!(status, 200);
    let html_tag = &home[home.find("<html").unwrap()..][..60];
    assert!(
        html_tag.contains("lang=\"en\"") && html_tag.matches("lang=").count() == 1,
        "{html_tag}"
    );
    assert!(home.contains("Find help near you"));
    assert!(
        home.contains("action=\"/search\" method=\"get\""),
        "the search is a plain GET form"
    );
    assert!(home.len() < 50_000, "first HTML is {} bytes", home.len());

    let (status, results) = app.page("/search?q=food&near=40601").await;
    assert_eq!(status, 200);
    assert!(results.contains("result-list"));
    assert!(results.contains("near 40601"));
    assert!(results.contains("href=\"tel:"));

    let (id, code, name) = any_program(&app).await;
    let (status, program) = app.page(&format!("/programs/{id}")).await;
    assert_eq!(status, 200);
    let escaped = name.replace('&', "&amp;").replace('\'', "&#x27;");
    assert!(program.contains(&escaped), "program page names the program");
    for section in [
        "Other services at this location",
        "Related services",
        "Frequently paired together",
    ] {
        assert!(program.contains(section), "{section}");
    }
    assert!(program.contains(&format!(
        "property=\"og:url\" content=\"http://127.0.0.1:3000/s/{code}\""
    )));

    let (status, shared_page) = app.page(&format!("/s/{code}")).await;
    assert_eq!(status, 200);
    assert!(shared_page.contains("property=\"og:title\""));
    assert!(shared_page.contains(&format!("<title>{escaped}")));

    let (status, share) = app.page(&format!("/programs/{id}/share")).await;
    assert_eq!(status, 200);
    assert!(share.contains("href=\"sms:?&amp;body=") || share.contains("href=\"sms:?&body="));
    assert!(share.contains("href=\"mailto:?subject="));
    assert!(share.contains("<svg"), "QR code");

    let (status, print) = app.page(&format!("/programs/{id}/print")).await;
    assert_eq!(status, 200);
    assert!(print.contains("<svg"));

    let (status, category) = app.page("/categories/food").await;
    assert_eq!(status, 200);
    assert!(category.contains("/search?category=food-pantries"));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn hostile_input_gets_a_friendly_4xx_never_a_500(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool).await;
    let huge = "x".repeat(5000);
    let cases = [
        (
            format!("/search?q={huge}"),
            400,
            "Use 200 letters or fewer.",
        ),
        (
            "/search?q=food%27%20OR%201%3D1--&near=40601".into(),
            200,
            "result-list",
        ),
        ("/search?near=4060".into(), 400, "A ZIP code has 5 numbers"),
        ("/search?near=99999".into(), 400, "find that place"),
        ("/search?near=%3Cscript%3E".into(), 400, "find that place"),
        ("/search?radius=-5".into(), 400, "Choose a distance"),
        ("/search?page=-1".into(), 400, "page of results"),
        ("/search?page=0".into(), 400, "page of results"),
        ("/search?category=unicorns".into(), 400, "kind of help"),
        ("/search?lat=NaN&lon=1".into(), 400, "read your location"),
        ("/search?age=-3".into(), 400, "Age must be"),
        // Broken UTF-8 and control bytes are refused before anything reads them.
        ("/search?q=%FF%FE".into(), 400, "not readable text"),
        ("/search?q=%00".into(), 400, "control characters"),
        (
            "/programs/not-an-id".into(),
            404,
            "couldn't find that program",
        ),
        (
            "/programs/00000000-0000-0000-0000-000000000000".into(),
            404,
            "couldn't find that program",
        ),
        ("/s/zzzzzzzzzzzz".into(), 404, "couldn't find that program"),
        (
            "/categories/unicorns".into(),
            404,
            "couldn't find that page",
        ),
        ("/no/such/page".into(), 404, "couldn't find that page"),
    ];
    for (path, expected, text) in cases {
        let (status, body) = app.page(&path).await;
        assert_eq!(status, expected, "{path}");
        assert!(
            body.contains(text) || body.contains(&text.replace('\'', "&#x27;")),
            "{path}: expected {text:?}"
        );
        for leak in ["sqlx", "panicked", "syntax error", "ERROR:"] {
            assert!(!body.contains(leak), "{path} leaks {leak}");
        }
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn server_functions_answer_bad_calls_with_a_4xx(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool).await;
    let post = |path: &str, body: &str| {
        app.client
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
            .send()
    };
    let bad = post("/fn/search_directory", "params[radius]=-5")
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let garbage = post("/fn/search_directory", "%%%").await.unwrap();
    assert!(
        garbage.status().is_client_error() || garbage.status().as_u16() == 200,
        "{}",
        garbage.status()
    );
    let missing = post("/fn/program_details", "id_or_code=nope")
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let ok = post("/fn/search_directory", "params[q]=food&params[near]=40601")
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn language_follows_the_link_the_cookie_and_the_browser(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool).await;
    let r = app.get("/?lang=es").await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("i18n_pref_locale=es"))
        .map(String::from);
    assert!(cookie.is_some(), "the choice is remembered");
    let body = r.text().await.unwrap();
    assert!(body.contains("lang=\"es\""));
    assert!(body.contains("Encuentre ayuda cerca de usted"));

    let remembered = app
        .client
        .get(format!("{}/categories/food", app.base))
        .header("cookie", "i18n_pref_locale=es")
        .send()
        .await
        .unwrap();
    assert!(remembered.text().await.unwrap().contains("Comida"));

    let browser = app
        .client
        .get(format!("{}/", app.base))
        .header("accept-language", "es-MX,es;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(browser.text().await.unwrap().contains("Encuentre ayuda"));

    let (_, english) = app.page("/?lang=xx").await;
    assert!(
        english.contains("Find help near you"),
        "unknown languages are ignored"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn responses_carry_security_headers(pool: PgPool) {
    prepare(&pool).await;
    let app = TestApp::spawn(pool).await;
    let r = app.get("/").await;
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
    // Pages allow scripts only from this site or with this response's nonce.
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"),
        "{csp}"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .expect("a nonce")
        .to_string();
    let html = r.text().await.unwrap();
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        let empty = script.starts_with("></script>");
        assert!(
            empty || tag.contains("src=") || tag.contains(&format!("nonce=\"{nonce}\"")),
            "inline script without the nonce: {}",
            &script[..script.len().min(300)]
        );
    }
    // A second page load gets a different nonce.
    let again = app.get("/").await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        csp
    );
    // Everything else gets the strictest policy.
    let api = app.get("/api/hsds").await;
    assert!(api.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
}

/// An HTML answer that sets no policy of its own (the policy's refusal page here; any page whose
/// header was lost) still gets this site's styles and scripts, and no inline script.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn html_without_its_own_policy_is_styled_and_runs_no_inline_script(pool: PgPool) {
    load_small_demo(&pool).await;
    let org = partner_organization(&pool, "hospital").await;
    let app = TestApp::spawn(pool.clone()).await;
    let (_, email, secret) = person(&pool, app::policy::Role::PartnerStaff, Some(org), true).await;
    let client = browser();
    app.sign_in(&client, &email, &secret).await;
    let r = app.get_with(&client, "/state/audit").await;
    assert_eq!(r.status(), 403);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("style-src 'self'") && csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("nonce-"),
        "{csp}"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_hsds_api_speaks_hsds_3(pool: PgPool) {
    load_small_demo(&pool).await;
    import(&pool, &shared("hsds/spec-3.0/examples/csv"), "spec", true).await;
    let app = TestApp::spawn(pool).await;

    let (status, meta) = app.json("/api/hsds").await;
    assert_eq!(status, 200);
    assert_eq!(meta["version"], "3.0");
    // One spelling of every path: the trailing slash is a redirect to it.
    let slash = app.get("/api/hsds/").await;
    assert_eq!(slash.status().as_u16(), 308);
    assert_eq!(location(&slash), "/api/hsds");

    let service_list = schema("compiled/service_list.json");
    let (status, page) = app.json("/api/hsds/services?per_page=20").await;
    assert_eq!(status, 200);
    assert!(page["total_items"].as_i64().unwrap() > 1000);
    assert_eq!(page["size"], 20);
    assert_eq!(page["first_page"], true);
    for s in page["contents"].as_array().unwrap() {
        assert_valid(&service_list, s, "a service in /services");
    }

    let service_schema = schema("compiled/service.json");
    let id = page["contents"][0]["id"].as_str().unwrap().to_string();
    let (status, full) = app.json(&format!("/api/hsds/services/{id}")).await;
    assert_eq!(status, 200);
    assert_valid(&service_schema, &full, "/services/{id}");
    assert!(
        !full["service_at_locations"].as_array().unwrap().is_empty()
            || full["service_areas"].as_array().is_some()
    );
    assert!(full["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["taxonomy_term"]["taxonomy"] == "wraparound"));

    // The official example, re-published: every nested record still valid.
    let (example_id,): (uuid::Uuid,) =
        sqlx::query_as("SELECT id FROM services WHERE source = 'spec'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (status, example) = app.json(&format!("/api/hsds/services/{example_id}")).await;
    assert_eq!(status, 200);
    assert_valid(&service_schema, &example, "the HSDS example service");
    assert_eq!(
        example["phones"].as_array().map(|p| p.len()),
        Some(0),
        "its phone belongs to the service at location"
    );
    assert_eq!(
        example["service_at_locations"][0]["phones"][0]["extension"],
        100.0
    );

    let sal_schema = schema("compiled/service_at_location_list.json");
    let (status, near) = app
        .json("/api/hsds/service_at_locations?postcode=40601&proximity=16000&per_page=10")
        .await;
    assert_eq!(status, 200);
    assert!(near["total_items"].as_i64().unwrap() > 0);
    for s in near["contents"].as_array().unwrap() {
        assert_valid(&sal_schema, s, "a service_at_location");
        let lat = s["location"]["latitude"].as_f64().unwrap();
        assert!((lat - 38.2).abs() < 0.3, "within 16 km of Frankfort: {lat}");
    }
    let (_, covering) = app
        .json("/api/hsds/service_at_locations?postcode=42001")
        .await;
    assert!(
        covering["total_items"].as_i64().unwrap() > 0,
        "area coverage for Paducah"
    );

    let term_schema = schema("taxonomy_term.json");
    let (status, terms) = app.json("/api/hsds/taxonomy_terms?per_page=100").await;
    assert_eq!(status, 200);
    let food = terms["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "food-pantries")
        .expect("our categories are terms")
        .clone();
    for t in terms["contents"].as_array().unwrap() {
        assert_valid(&term_schema, t, "a taxonomy term");
    }
    let (_, pantries) = app
        .json(&format!(
            "/api/hsds/service_at_locations?taxonomy_term_id={}&per_page=5",
            food["id"].as_str().unwrap()
        ))
        .await;
    assert!(pantries["total_items"].as_i64().unwrap() > 0);

    let org_schema = schema("compiled/organization.json");
    let org_id = page["contents"][0]["organization_id"].as_str().unwrap();
    let (status, org) = app.json(&format!("/api/hsds/organizations/{org_id}")).await;
    assert_eq!(status, 200);
    assert_valid(&org_schema, &org, "/organizations/{id}");
    assert!(!org["services"].as_array().unwrap().is_empty());

    for (path, expected) in [
        ("/api/hsds/services?page=-1", 400),
        ("/api/hsds/services?per_page=0", 400),
        ("/api/hsds/services?full=maybe", 400),
        ("/api/hsds/services?format=xml", 400),
        ("/api/hsds/services?modified_after=yesterday", 400),
        ("/api/hsds/services?bogus=1", 400),
        ("/api/hsds/nothing-here", 404),
        ("/api/hsds/services/1/extra", 404),
        (
            "/api/hsds/taxonomies/00000000-0000-0000-0000-000000000000",
            404,
        ),
        ("/api/hsds/taxonomy_terms/not-a-uuid", 404),
        (
            "/api/hsds/service_at_locations/00000000-0000-0000-0000-000000000000",
            404,
        ),
        (
            "/api/hsds/service_at_locations?proximity=-5&postcode=40601",
            400,
        ),
        ("/api/hsds/service_at_locations?postcode=ABCDE", 400),
        ("/api/hsds/service_at_locations?proximity=100", 400),
        ("/api/hsds/services/not-a-uuid", 404),
        (
            "/api/hsds/services/00000000-0000-0000-0000-000000000000",
            404,
        ),
        (
            "/api/hsds/organizations/00000000-0000-0000-0000-000000000000",
            404,
        ),
    ] {
        let (status, body) = app.json(path).await;
        assert_eq!(status, expected, "{path}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}

/// Every path and parameter of the HSDS 3.0 OpenAPI, beyond the basics above.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_hsds_api_serves_every_documented_path_and_parameter(pool: PgPool) {
    load_small_demo(&pool).await;
    import(&pool, &shared("hsds/spec-3.0/examples/csv"), "spec", true).await;
    let app = TestApp::spawn(pool).await;

    // Loosely typed parameters read as a client means them.
    let (status, first) = app.json("/api/hsds/services?page=0&per_page=5").await;
    assert_eq!(status, 200);
    assert_eq!(first["page_number"], 1);
    let (_, clamped) = app.json("/api/hsds/services?per_page=100000").await;
    assert_eq!(clamped["size"], 200, "per_page above the most is the most");
    let (status, none) = app.json("/api/hsds/services?taxonomy_term_id=nope").await;
    assert_eq!((status, none["total_items"].as_i64()), (200, Some(0)));
    // Past the last page: empty, with the true total.
    let total = first["total_items"].as_i64().unwrap();
    let (_, past) = app.json("/api/hsds/services?page=100000&per_page=5").await;
    assert_eq!(past["total_items"].as_i64(), Some(total));
    assert_eq!(past["empty"], true);

    // Source ids: what the feed called each record.
    let (spec_id, spec_source_id): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, source_id FROM services WHERE source = 'spec'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, service) = app.json(&format!("/api/hsds/services/{spec_id}")).await;
    assert_eq!(service["x_source"]["feed"], "spec");
    assert_eq!(service["x_source"]["id"], spec_source_id.as_str());
    assert_eq!(
        service["service_at_locations"][0]["location"]["x_source"]["feed"],
        "spec"
    );
    assert!(service["x_source"]["id"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    assert_eq!(service["organization"]["x_source"]["feed"], "spec");

    // full, minimal, organization_id, modified_after.
    let service_list = schema("compiled/service_list.json");
    let (_, full) = app.json("/api/hsds/services?full=true&per_page=3").await;
    for s in full["contents"].as_array().unwrap() {
        assert_valid(&service_list, s, "a full service in /services");
        assert!(s["service_at_locations"].is_array() && s["attributes"].is_array());
    }
    let (_, minimal) = app
        .json("/api/hsds/services?minimal=true&per_page=5000")
        .await;
    assert_eq!(minimal["size"].as_i64(), Some(total.min(5000)));
    assert!(minimal["contents"][0].get("description").is_none());
    let org = first["contents"][0]["organization_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, of_org) = app
        .json(&format!("/api/hsds/services?organization_id={org}"))
        .await;
    assert!(of_org["contents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["organization_id"] == org.as_str()));
    let (_, future) = app
        .json("/api/hsds/services?modified_after=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(future["total_items"], 0);
    // An organization's change is its services' change: a copy pulled incrementally gets
    // them again (with the organization nested in each).
    sqlx::query("UPDATE organizations SET updated_at = '3000-01-01' WHERE id = $1::uuid")
        .bind(&org)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, changed) = app
        .json("/api/hsds/services?modified_after=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(changed["total_items"], of_org["total_items"]);
    assert!(changed["contents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["organization_id"] == org.as_str()));
    // A place's change is its services' change, and its own entries' (not their entries at
    // other places).
    let (place,): (uuid::Uuid,) = sqlx::query_as(
        "UPDATE locations SET updated_at = '3001-01-01'
          WHERE id = (SELECT location_id FROM search_entries WHERE location_id IS NOT NULL LIMIT 1)
          RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (services_there, entries_there): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT service_id), count(*) FROM search_entries WHERE location_id = $1",
    )
    .bind(place)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, changed) = app
        .json("/api/hsds/services?modified_after=3000-06-01")
        .await;
    assert_eq!(changed["total_items"].as_i64(), Some(services_there));
    let (_, changed) = app
        .json("/api/hsds/service_at_locations?modified_after=3000-06-01&per_page=200")
        .await;
    assert_eq!(changed["total_items"].as_i64(), Some(entries_there));
    assert!(changed["contents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["location_id"] == place.to_string().as_str()));
    let (_, past_date) = app
        .json("/api/hsds/services?modified_after=2000-01-01")
        .await;
    assert_eq!(past_date["total_items"].as_i64(), Some(total));
    // Everything changed since then: each row is tested rather than listed by id (see
    // `Changes` in the API), with the same answer.
    let (_, entries) = app.json("/api/hsds/service_at_locations").await;
    let (_, entries_since) = app
        .json("/api/hsds/service_at_locations?modified_after=2000-01-01")
        .await;
    assert_eq!(entries_since["total_items"], entries["total_items"]);
    // The total of the whole list is the count the index rebuild keeps.
    let located: i64 =
        sqlx::query_scalar("SELECT count(*) FROM search_entries WHERE location_id IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(entries["total_items"].as_i64(), Some(located));

    // A filter matching few rows finds them first and sorts them (not a walk of every name):
    // the same rows, in the list's order, page by page.
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (all, filtered) in [
        (
            "/api/hsds/services?per_page=1000",
            "/api/hsds/services?search=food",
        ),
        (
            "/api/hsds/service_at_locations?per_page=200",
            "/api/hsds/service_at_locations?search=food",
        ),
        (
            "/api/hsds/organizations?per_page=200",
            "/api/hsds/organizations?search=food",
        ),
    ] {
        let (_, every) = app.json(all).await;
        let (_, matched) = app.json(&format!("{filtered}&per_page=200")).await;
        let total = matched["total_items"].as_i64();
        let (every, matched) = (ids(&every), ids(&matched));
        // `every` is the list's first page: the matches on it, in its order, come first.
        let in_list_order: Vec<String> = every
            .iter()
            .filter(|id| matched.contains(id))
            .cloned()
            .collect();
        assert!(in_list_order.len() > 3, "{filtered}");
        assert!(
            matched.starts_with(&in_list_order),
            "{filtered}: the list's order"
        );
        let (_, second) = app.json(&format!("{filtered}&per_page=3&page=2")).await;
        assert_eq!(ids(&second), matched[3..6.min(matched.len())], "{filtered}");
        let (_, past) = app.json(&format!("{filtered}&per_page=3&page=9999")).await;
        assert_eq!(past["total_items"].as_i64(), total);
        assert!(ids(&past).is_empty());
    }

    // ndjson: every result, one per line, no pages.
    let r = app
        .get("/api/hsds/services?format=ndjson&minimal=true")
        .await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let body = r.text().await.unwrap();
    assert_eq!(body.lines().count() as i64, total);
    assert!(body
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));

    // Full downloads at once are few (each holds a database connection while it runs): a
    // fifth, while four clients read nothing, is told to come back.
    let mut open = Vec::new();
    for _ in 0..4 {
        let r = app.get("/api/hsds/services?format=ndjson&full=true").await;
        assert_eq!(r.status().as_u16(), 200);
        open.push(r);
    }
    let fifth = app.get("/api/hsds/services?format=ndjson&full=true").await;
    assert_eq!(fifth.status().as_u16(), 503);
    assert!(fifth.headers().contains_key("retry-after"));
    drop(open);

    // Organizations: a list, full, full_service.
    let org_list = schema("compiled/organization_list.json");
    let org_schema = schema("compiled/organization.json");
    let (status, orgs) = app.json("/api/hsds/organizations?per_page=5").await;
    assert_eq!(status, 200);
    for o in orgs["contents"].as_array().unwrap() {
        assert_valid(&org_list, o, "an organization in /organizations");
    }
    let (_, nested) = app
        .json("/api/hsds/organizations?full_service=true&per_page=3")
        .await;
    for o in nested["contents"].as_array().unwrap() {
        assert_valid(&org_schema, o, "a nested organization");
        for s in o["services"].as_array().unwrap() {
            assert!(s["service_at_locations"].is_array());
        }
    }
    let (status, one) = app
        .json(&format!("/api/hsds/organizations/{org}?full_service=true"))
        .await;
    assert_eq!(status, 200);
    assert_valid(&org_schema, &one, "/organizations/{id}?full_service");

    // Pages follow one order (a page's rows are found by key first): the second page of two
    // is the second half of a page of four, and the total counts every row a page can show.
    let ids = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect()
    };
    for list in ["services", "service_at_locations"] {
        let (_, four) = app.json(&format!("/api/hsds/{list}?per_page=4")).await;
        let (_, second) = app
            .json(&format!("/api/hsds/{list}?per_page=2&page=2"))
            .await;
        assert_eq!(ids(&four).len(), 4, "{list}");
        assert_eq!(ids(&second), ids(&four)[2..4], "{list}");
        assert_eq!(second["total_items"], four["total_items"], "{list}");
        // The last page holds what the total leaves for it.
        let total = four["total_items"].as_i64().unwrap();
        let pages = (total + 199) / 200;
        let (_, last) = app
            .json(&format!("/api/hsds/{list}?per_page=200&page={pages}"))
            .await;
        assert_eq!(ids(&last).len() as i64, total - (pages - 1) * 200, "{list}");
    }

    // One service at a location.
    let sal_schema = schema("compiled/service_at_location.json");
    let (_, sals) = app
        .json("/api/hsds/service_at_locations?per_page=2&full=true")
        .await;
    let sal_id = sals["contents"][0]["id"].as_str().unwrap().to_string();
    let (status, sal) = app
        .json(&format!("/api/hsds/service_at_locations/{sal_id}"))
        .await;
    assert_eq!(status, 200);
    assert_valid(&sal_schema, &sal, "/service_at_locations/{id}");
    // Once its service is removed, the service at a location is gone too.
    sqlx::query(
        "UPDATE services SET active = false WHERE id = (SELECT service_id FROM service_at_locations WHERE id = $1::uuid)",
    )
    .bind(&sal_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, _) = app
        .json(&format!("/api/hsds/service_at_locations/{sal_id}"))
        .await;
    assert_eq!(status, 404);
    let (_, unknown_zip) = app
        .json("/api/hsds/service_at_locations?postcode=00001")
        .await;
    assert_eq!(unknown_zip["total_items"], 0);

    // Taxonomies and their terms.
    let taxonomy_schema = schema("taxonomy.json");
    let term_schema = schema("taxonomy_term.json");
    let (status, taxonomies) = app.json("/api/hsds/taxonomies").await;
    assert_eq!(status, 200);
    let ours = taxonomies["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "wraparound")
        .expect("our category tree is a taxonomy")
        .clone();
    for t in taxonomies["contents"].as_array().unwrap() {
        assert_valid(&taxonomy_schema, t, "a taxonomy");
        let (status, again) = app
            .json(&format!(
                "/api/hsds/taxonomies/{}",
                t["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!((status, &again), (200, t));
    }
    let (_, top) = app
        .json(&format!(
            "/api/hsds/taxonomy_terms?taxonomy_id={}&top_only=true&per_page=200",
            ours["id"].as_str().unwrap()
        ))
        .await;
    let tops = top["contents"].as_array().unwrap();
    assert!(!tops.is_empty() && tops.iter().all(|t| t.get("parent_id").is_none()));
    let food = tops.iter().find(|t| t["code"] == "food").expect("food");
    let (_, subs) = app
        .json(&format!(
            "/api/hsds/taxonomy_terms?parent_id={}",
            food["id"].as_str().unwrap()
        ))
        .await;
    assert!(subs["contents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["code"] == "food-pantries"));
    let (_, searched) = app.json("/api/hsds/taxonomy_terms?search=pantr").await;
    assert!(searched["total_items"].as_i64().unwrap() >= 1);
    let (status, term) = app
        .json(&format!(
            "/api/hsds/taxonomy_terms/{}",
            food["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_valid(&term_schema, &term, "/taxonomy_terms/{id}");
    let (_, by_taxonomy) = app
        .json(&format!(
            "/api/hsds/services?taxonomy_id={}&per_page=1",
            ours["id"].as_str().unwrap()
        ))
        .await;
    assert!(by_taxonomy["total_items"].as_i64().unwrap() > 0);

    // Only reads: other methods get 405 with what is allowed, in JSON.
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = app
            .client
            .request(method.clone(), format!("{}/api/hsds/services", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method}");
        assert_eq!(r.headers()["allow"], "GET, HEAD");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["error"].is_string());
    }
    let head = app
        .client
        .head(format!("{}/api/hsds/services", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
}
