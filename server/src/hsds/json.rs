//! Reads HSDS 3.0 JSON as the HSDS API returns it: a service, an organization (with its
//! services and locations), a service at a location, a list page (`{"contents": [...]}`) or a
//! plain array of any of these. A folder of `.json` files is read file by file.

use super::feed::*;
use super::values::*;
use super::ImportError;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

/// A field as text whatever JSON type it arrived as (feeds send numbers for extensions,
/// coordinates and ages).
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every string of a document as `app::text::clean` leaves it; a string that is not clean text
/// (a control character) is left out (`null`) and reported by its place in the document.
fn scrub(v: &mut Value, at: &str, dropped: &mut Vec<String>) {
    match v {
        Value::String(s) => match app::text::clean(s) {
            Ok(std::borrow::Cow::Borrowed(_)) => {}
            Ok(std::borrow::Cow::Owned(n)) => *s = n,
            Err(e) => {
                dropped.push(format!("{at}: {e}; value left out"));
                *v = Value::Null;
            }
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                scrub(item, &format!("{at}[{i}]"), dropped);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                scrub(item, &format!("{at}/{k}"), dropped);
            }
        }
        _ => {}
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(|x| x.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
}

fn is_object_with_id_and_name(v: &Value) -> bool {
    v.is_object() && text(v, "id").is_some() && text(v, "name").is_some()
}

/// Builds one feed from HSDS JSON documents handed over one at a time: the files of a folder,
/// or the pages of another HSDS API (`hsds::pull`).
pub struct Documents {
    feed: Feed,
    file: String,
    organizations: HashSet<String>,
    locations: HashSet<String>,
    terms: HashSet<String>,
}

pub fn read_path(path: &Path) -> Result<Feed, ImportError> {
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|source| ImportError::Io {
                path: path.display().to_string(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && p.file_name().is_some_and(|n| n != "datapackage.json")
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut documents = Documents::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|source| ImportError::Io {
            path: file.display().to_string(),
            source,
        })?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ImportError::NotHsds(format!("{name} is not valid JSON: {e}")))?;
        documents.add(&name, doc)?;
    }
    Ok(documents.finish())
}

impl Default for Documents {
    fn default() -> Self {
        Self::new()
    }
}

impl Documents {
    pub fn new() -> Self {
        Documents {
            feed: Feed {
                format: "HSDS 3.0 JSON".into(),
                ..Default::default()
            },
            file: String::new(),
            organizations: HashSet::new(),
            locations: HashSet::new(),
            terms: HashSet::new(),
        }
    }

    /// Reads one document: a record, a list page (`{"contents": [...]}`) or an array of
    /// records. `name` is where rejected rows say they came from. Returns how many items it held.
    pub fn add(&mut self, name: &str, mut doc: Value) -> Result<usize, ImportError> {
        self.file = name.to_string();
        let mut dropped = Vec::new();
        scrub(&mut doc, "", &mut dropped);
        self.feed.warnings.extend(
            dropped
                .into_iter()
                .map(|reason| Origin::new(name, 0).issue(reason)),
        );
        let items: Vec<&Value> = match &doc {
            Value::Array(items) => items.iter().collect(),
            Value::Object(o) if o.get("contents").is_some_and(Value::is_array) => {
                list(&doc, "contents").iter().collect()
            }
            Value::Object(_) => vec![&doc],
            _ => vec![],
        };
        let is_list_page = doc.get("contents").is_some_and(Value::is_array);
        // An empty page of a list is a page with nothing on it; anything else must hold records.
        if !(is_list_page && items.is_empty())
            && (items.is_empty()
                || !items
                    .iter()
                    .any(|i| is_object_with_id_and_name(i) || i.get("service").is_some()))
        {
            return Err(ImportError::NotHsds(format!(
                "{name} holds no HSDS services, organizations or service_at_locations"
            )));
        }
        let n = items.len();
        for (i, item) in items.into_iter().enumerate() {
            self.item(item, i as u64 + 1);
        }
        Ok(n)
    }

    pub fn finish(self) -> Feed {
        self.feed
    }

    fn origin(&self, item: u64) -> Origin {
        Origin::new(&self.file, item)
    }

    fn item(&mut self, v: &Value, n: u64) {
        if v.get("service").is_some_and(Value::is_object) && v.get("location").is_some() {
            self.service_at_location_doc(v, n);
        } else if v.get("services").is_some_and(Value::is_array)
            || v.get("locations").is_some_and(Value::is_array)
        {
            if let Some(org) = self.organization(v, n) {
                for s in list(v, "services") {
                    self.service(s, Some(&org), n);
                }
                for l in list(v, "locations") {
                    self.location(l, Some(&org), n);
                }
            }
        } else if v.get("organization").is_some()
            || v.get("organization_id").is_some()
            || v.get("service_at_locations").is_some()
        {
            self.service(v, None, n);
        } else if is_object_with_id_and_name(v) {
            self.organization(v, n);
        } else {
            self.feed.rejected.push(
                self.origin(n)
                    .issue("not an HSDS service, organization or service_at_location"),
            );
        }
    }

    fn organization(&mut self, v: &Value, n: u64) -> Option<String> {
        let (Some(id), Some(name)) = (text(v, "id"), text(v, "name")) else {
            self.feed
                .rejected
                .push(self.origin(n).issue("organization has no id or no name"));
            return None;
        };
        if !self.organizations.insert(id.clone()) {
            return Some(id);
        }
        let origin = self.origin(n);
        let mut warnings = Vec::new();
        let mut warn = |w: String| warnings.push(origin.issue(w));
        let org = Organization {
            origin: origin.clone(),
            name,
            alternate_name: text(v, "alternate_name"),
            description: text(v, "description"),
            email: text(v, "email"),
            website: text(v, "website").or_else(|| text(v, "url")),
            tax_status: text(v, "tax_status"),
            tax_id: text(v, "tax_id"),
            year_incorporated: integer(
                text(v, "year_incorporated").as_deref(),
                "year_incorporated",
                &mut warn,
            ),
            legal_status: text(v, "legal_status"),
            logo: text(v, "logo"),
            uri: text(v, "uri"),
            parent_organization_id: text(v, "parent_organization_id"),
            phones: phones(list(v, "phones")),
            last_modified: None,
            placeholder: false,
            id: id.clone(),
        };
        self.feed.warnings.extend(warnings);
        self.feed.organizations.push(org);
        Some(id)
    }

    fn location(&mut self, v: &Value, org: Option<&str>, n: u64) -> Option<String> {
        let Some(id) = text(v, "id") else {
            self.feed
                .rejected
                .push(self.origin(n).issue("location has no id"));
            return None;
        };
        if !self.locations.insert(id.clone()) {
            return Some(id);
        }
        let origin = self.origin(n);
        let mut warnings = Vec::new();
        let mut warn = |w: String| warnings.push(origin.issue(w));
        let (latitude, longitude) = coordinates(
            text(v, "latitude").as_deref(),
            text(v, "longitude").as_deref(),
            &mut warn,
        );
        let addresses = list(v, "addresses");
        let address = addresses
            .iter()
            .find(|a| {
                !matches!(
                    text(a, "address_type").as_deref(),
                    Some("postal" | "virtual")
                )
            })
            .or(addresses.first())
            .map(|a| Address {
                address_1: text(a, "address_1"),
                address_2: text(a, "address_2"),
                city: text(a, "city"),
                region: text(a, "region"),
                state_province: text(a, "state_province"),
                postal_code: text(a, "postal_code"),
                country: text(a, "country"),
            });
        let schedules = self.schedules(list(v, "schedules"), &origin);
        self.feed.warnings.extend(warnings);
        self.feed.locations.push(Location {
            origin,
            organization_id: text(v, "organization_id").or(org.map(String::from)),
            location_type: text(v, "location_type"),
            name: text(v, "name"),
            alternate_name: text(v, "alternate_name"),
            description: text(v, "description"),
            transportation: text(v, "transportation"),
            url: text(v, "url"),
            latitude,
            longitude,
            address,
            phones: phones(list(v, "phones")),
            schedules,
            languages: languages(list(v, "languages")),
            accessibility: list(v, "accessibility").to_vec(),
            last_modified: None,
            id: id.clone(),
        });
        Some(id)
    }

    fn schedules(&mut self, items: &[Value], origin: &Origin) -> Vec<Value> {
        let mut out = Vec::new();
        for s in items {
            match schedule(&|k| text(s, k)) {
                Ok(Some(s)) => out.push(s),
                Ok(None) => {}
                Err(w) => self.feed.warnings.push(origin.issue(w)),
            }
        }
        out
    }

    fn service(&mut self, v: &Value, org: Option<&str>, n: u64) {
        let origin = self.origin(n);
        let (Some(id), Some(name)) = (text(v, "id"), text(v, "name")) else {
            self.feed
                .rejected
                .push(origin.issue("service has no id or no name"));
            return;
        };
        let org_id = match v.get("organization").filter(|o| o.is_object()) {
            Some(o) => self.organization(o, n),
            None => text(v, "organization_id").or(org.map(String::from)),
        };
        let Some(organization_id) = org_id else {
            self.feed
                .rejected
                .push(origin.issue("service has no organization"));
            return;
        };
        let mut term_ids = Vec::new();
        for a in list(v, "attributes") {
            let Some(term) = a.get("taxonomy_term").filter(|t| t.is_object()) else {
                continue;
            };
            if let (Some(tid), Some(tname)) = (text(term, "id"), text(term, "name")) {
                if self.terms.insert(tid.clone()) {
                    self.feed.taxonomy_terms.push(TaxonomyTerm {
                        origin: origin.clone(),
                        id: tid.clone(),
                        code: text(term, "code"),
                        name: tname,
                        description: text(term, "description"),
                        parent_id: text(term, "parent_id"),
                        taxonomy: text(term, "taxonomy")
                            .or_else(|| term.get("taxonomy_detail").and_then(|d| text(d, "name"))),
                        language: text(term, "language"),
                        term_uri: text(term, "term_uri"),
                    });
                }
                term_ids.push(tid);
            }
        }
        for sal in list(v, "service_at_locations") {
            self.nested_sal(sal, &id, &organization_id, n);
        }
        let mut warnings = Vec::new();
        let mut warn = |w: String| warnings.push(origin.issue(w));
        let service = Service {
            origin: origin.clone(),
            organization_id,
            program_name: v.get("program").and_then(|p| text(p, "name")),
            alternate_name: text(v, "alternate_name"),
            description: text(v, "description"),
            url: text(v, "url"),
            email: text(v, "email"),
            status: text(v, "status").map(|s| s.to_lowercase()),
            interpretation_services: text(v, "interpretation_services"),
            application_process: text(v, "application_process"),
            fees_description: text(v, "fees_description").or_else(|| text(v, "fees")),
            wait_time: text(v, "wait_time"),
            eligibility_description: text(v, "eligibility_description"),
            minimum_age: integer(text(v, "minimum_age").as_deref(), "minimum_age", &mut warn),
            maximum_age: integer(text(v, "maximum_age").as_deref(), "maximum_age", &mut warn),
            accreditations: text(v, "accreditations"),
            licenses: text(v, "licenses"),
            alert: text(v, "alert"),
            assured_date: date(
                text(v, "assured_date").as_deref(),
                "assured_date",
                &mut warn,
            ),
            last_modified: timestamp(
                text(v, "last_modified").as_deref(),
                "last_modified",
                &mut warn,
            ),
            phones: phones(list(v, "phones")),
            schedules: Vec::new(),
            languages: languages(list(v, "languages")),
            required_documents: list(v, "required_documents").to_vec(),
            cost_options: list(v, "cost_options").to_vec(),
            service_areas: list(v, "service_areas").to_vec(),
            contacts: list(v, "contacts").to_vec(),
            taxonomy_term_ids: term_ids,
            id,
            name,
        };
        self.feed.warnings.extend(warnings);
        let schedules = self.schedules(list(v, "schedules"), &origin);
        self.feed.services.push(Service {
            schedules,
            ..service
        });
    }

    fn nested_sal(&mut self, sal: &Value, service_id: &str, org: &str, n: u64) {
        let origin = self.origin(n);
        let Some(location) = sal.get("location").filter(|l| l.is_object()) else {
            self.feed
                .rejected
                .push(origin.issue("service_at_location has no location"));
            return;
        };
        let Some(location_id) = self.location(location, Some(org), n) else {
            return;
        };
        let schedules = self.schedules(list(sal, "schedules"), &origin);
        self.feed.service_at_locations.push(ServiceAtLocation {
            origin,
            id: text(sal, "id").unwrap_or_else(|| format!("{service_id}@{location_id}")),
            service_id: service_id.to_string(),
            location_id,
            description: text(sal, "description"),
            phones: phones(list(sal, "phones")),
            schedules,
        });
    }

    /// A `service_at_location` document: its service (with organization) and location.
    fn service_at_location_doc(&mut self, v: &Value, n: u64) {
        let service = &v["service"];
        let Some(service_id) = text(service, "id") else {
            self.feed.rejected.push(
                self.origin(n)
                    .issue("service_at_location's service has no id"),
            );
            return;
        };
        self.service(service, None, n);
        let org = self
            .feed
            .services
            .iter()
            .rev()
            .find(|s| s.id == service_id)
            .map(|s| s.organization_id.clone());
        if let Some(org) = org {
            let mut with_service = v.clone();
            with_service.as_object_mut().map(|o| o.remove("service"));
            self.nested_sal(&with_service, &service_id, &org, n);
        }
    }
}

/// Phones with their numbers as text (feeds send extensions as numbers).
fn phones(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|p| text(p, "number").is_some())
        .map(|p| {
            let mut p = p.clone();
            if let Some(o) = p.as_object_mut() {
                for k in ["number", "extension"] {
                    if let Some(Value::Number(n)) = o.get(k) {
                        let s = n.to_string();
                        o.insert(k.into(), Value::String(s));
                    }
                }
            }
            p
        })
        .collect()
}

fn languages(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|l| {
            let mut out = language(&text(l, "name").or_else(|| text(l, "code"))?);
            if let (Some(code), Some(o)) = (text(l, "code"), out.as_object_mut()) {
                o.insert("code".into(), Value::String(code.to_lowercase()));
            }
            Some(out)
        })
        .collect()
}
