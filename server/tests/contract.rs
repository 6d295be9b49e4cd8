//! The HSDS API against the HSDS 3.0 OpenAPI document, property-based: schemathesis (PyPI,
//! installed by scripts/setup.sh into target/py) generates requests for every path from the
//! document's parameters and checks our answers against its schemas.
//!
//! The document's `$ref`s point at raw.githubusercontent.com; the copy the test hands over has
//! them replaced by the same schemas from `../shared/data/hsds/spec-3.0/schema/`.
//!
//! Checks: no 5xx; every 200 valid against its schema, with the documented content type and
//! headers; out-of-schema input (a page that is not a number...) refused with a 4xx;
//! undocumented methods answered 405 with an `Allow` header. Not checked: that every
//! schema-valid request succeeds (the document types `modified_after` as any string; ours
//! refuses `modified_after=foo` with a 400 that says what it wants) and that every status code
//! is documented (the document lists only 200s).

mod common;

use common::*;
use serde_json::Value;
use sqlx::PgPool;
use std::path::Path;

const REMOTE: &str = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/";

/// Replaces every remote `$ref` by the local schema it names.
fn inline(v: &mut Value, schemas: &Path) {
    match v {
        Value::Object(o) => {
            // Remote references, and the file references of the schemas they name.
            if let Some(local) = o
                .get("$ref")
                .and_then(Value::as_str)
                .filter(|r| !r.starts_with('#'))
                .map(|r| r.strip_prefix(REMOTE).unwrap_or(r).to_string())
            {
                let text = std::fs::read_to_string(schemas.join(local)).expect("a local schema");
                let mut schema: Value = serde_json::from_str(&text).expect("JSON");
                if let Some(s) = schema.as_object_mut() {
                    s.remove("$schema");
                    s.remove("$id");
                }
                inline(&mut schema, schemas);
                *v = schema;
                return;
            }
            for item in o.values_mut() {
                inline(item, schemas);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| inline(i, schemas)),
        _ => {}
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_hsds_api_keeps_the_openapi_contract(pool: PgPool) {
    let schemathesis = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "schemathesis is missing: run scripts/setup.sh (make test does)"
    );
    load_small_demo(&pool).await;
    import(&pool, &shared("hsds/spec-3.0/examples/csv"), "spec", true).await;
    let app = TestApp::spawn(pool).await;

    let schemas = shared("hsds/spec-3.0/schema");
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(schemas.join("openapi.json")).unwrap())
            .unwrap();
    // One correction: the 3.0 document gives `/service_at_locations/{id}` the *service*
    // schema, while its own summary, description and operationId say it returns the fully
    // nested service_at_location (which is what we serve, and what HSDS 3.1 documents).
    let sal = &mut spec["paths"]["/service_at_locations/{id}"]["get"]["responses"]["200"]
        ["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(sal, &format!("{REMOTE}compiled/service.json"));
    *sal = Value::String(format!("{REMOTE}compiled/service_at_location.json"));
    inline(&mut spec, &schemas);
    assert!(!spec.to_string().contains(REMOTE));
    let dir = tempfile::tempdir().unwrap();
    // Real ids for the one-record paths, so their answers are checked too (random ids only
    // find 404s).
    let id = |v: &Value| v["contents"][0]["id"].as_str().expect("an id").to_string();
    let (_, services) = app.json("/api/hsds/services?per_page=1").await;
    let (_, sals) = app.json("/api/hsds/service_at_locations?per_page=1").await;
    let (_, orgs) = app.json("/api/hsds/organizations?per_page=1").await;
    let (_, taxonomies) = app.json("/api/hsds/taxonomies?per_page=1").await;
    let (_, terms) = app.json("/api/hsds/taxonomy_terms?per_page=1").await;
    let mut config = String::new();
    for (path, list) in [
        ("/services/{id}", &services),
        ("/service_at_locations/{id}", &sals),
        ("/organizations/{id}", &orgs),
        ("/taxonomies/{id}", &taxonomies),
        ("/taxonomy_terms/{id}", &terms),
    ] {
        config.push_str(&format!(
            "[[operations]]\ninclude-path = \"{path}\"\nparameters = {{ id = \"{}\" }}\n\n",
            id(list)
        ));
    }
    std::fs::write(dir.path().join("schemathesis.toml"), config).unwrap();
    let spec_path = dir.path().join("openapi.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();

    let out = tokio::process::Command::new(&schemathesis)
        .arg("run")
        .arg(&spec_path)
        .args(["--url", &format!("{}/api/hsds", app.base)])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance,\
             response_headers_conformance,negative_data_rejection,unsupported_method,\
             allow_header_conformance",
        ])
        .args(["--max-examples", "40", "--seed", "2026", "--workers", "2"])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--request-timeout", "30"])
        .current_dir(dir.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .expect("schemathesis runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the API broke the HSDS 3.0 OpenAPI contract:\n{text}"
    );
    // Every one of the document's operations was exercised, none skipped for want of data.
    assert!(
        text.contains("Tested: 11"),
        "not every operation was tested:\n{text}"
    );
    assert!(!text.contains("Missing test data"), "{text}");
}
