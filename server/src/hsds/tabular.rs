//! Reads a tabular HSDS export (a folder of CSV files): HSDS 3.0 datapackages and the older
//! HSDS 1.x exports 211s still send. The two differ mostly in file and column names, which are
//! mapped here; what comes out is one `Feed`.

use super::feed::*;
use super::values::*;
use super::ImportError;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::Path;

/// One CSV file: its header and rows, each with its line number for the report.
pub struct Table {
    pub file: String,
    columns: HashMap<String, usize>,
    pub rows: Vec<Row>,
}

/// One record: its cells' text one after another, and where each cell ends. Two allocations
/// a row, not one a cell (a national export has tens of millions of cells).
pub struct Row {
    pub line: u64,
    text: String,
    ends: Vec<u32>,
}

impl Row {
    fn cell(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        Some(&self.text[start..end])
    }
}

impl Table {
    pub fn has(&self, column: &str) -> bool {
        self.columns.contains_key(column)
    }

    /// The trimmed value of a column, `None` when the column is missing or the cell empty.
    pub fn get<'a>(&self, row: &'a Row, column: &str) -> Option<&'a str> {
        let i = *self.columns.get(column)?;
        row.cell(i).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn text(&self, row: &Row, column: &str) -> Option<String> {
        self.get(row, column).map(String::from)
    }

    pub fn first(&self, row: &Row, columns: &[&str]) -> Option<String> {
        columns.iter().find_map(|c| self.text(row, c))
    }

    pub fn origin(&self, row: &Row) -> Origin {
        Origin::new(&self.file, row.line)
    }
}

/// Reads the first of `names` that exists. A cell that is not clean text (broken UTF-8, control
/// characters: `app::text::clean`) is emptied and reported in `dropped` with its file and line;
/// the rest of the row is kept (a row missing a required value is then rejected as usual).
fn read_table(
    dropped: &mut Vec<Issue>,
    dir: &Path,
    names: &[&str],
) -> Result<Option<Table>, ImportError> {
    let Some(name) = names.iter().find(|n| dir.join(n).is_file()).copied() else {
        return Ok(None);
    };
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|source| ImportError::Io {
        path: path.display().to_string(),
        source,
    })?;
    // Strip a UTF-8 byte order mark, which spreadsheet exports often add.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers: HashMap<String, usize> = reader
        .byte_headers()
        .map_err(|e| ImportError::NotHsds(format!("{name} is not a readable CSV file: {e}")))?
        .iter()
        .enumerate()
        .map(|(i, h)| (String::from_utf8_lossy(h).trim().to_lowercase(), i))
        .collect();
    let headers_by_index: HashMap<usize, String> =
        headers.iter().map(|(h, i)| (*i, h.clone())).collect();
    let mut rows = Vec::new();
    // Line numbers for the report, counted from each record's byte offset (the reader's own
    // line count is off for CRLF files).
    let (mut counted_to, mut line) = (0usize, 1u64);
    for record in reader.byte_records() {
        let record = record
            .map_err(|e| ImportError::NotHsds(format!("{name} is not a readable CSV file: {e}")))?;
        let mut offset = record
            .position()
            .map(|p| p.byte() as usize)
            .unwrap_or(counted_to)
            .min(bytes.len());
        // For CRLF files the reader's offset points at the "\n" ending the previous line.
        while offset < bytes.len() && matches!(bytes[offset], b'\r' | b'\n') {
            offset += 1;
        }
        line += bytes[counted_to..offset.max(counted_to)]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        counted_to = offset.max(counted_to);
        let mut text = String::with_capacity(record.as_slice().len());
        let mut ends = Vec::with_capacity(record.len());
        for (i, v) in record.iter().enumerate() {
            match app::text::clean_bytes(v) {
                Ok(v) => text.push_str(&v),
                Err(e) => {
                    let column = headers_by_index.get(&i).map_or("?", |c| c.as_str());
                    dropped.push(Issue {
                        file: name.to_string(),
                        line,
                        reason: format!("column {column}: {e}; value left out"),
                    });
                }
            }
            let end = u32::try_from(text.len()).map_err(|_| {
                ImportError::NotHsds(format!("{name} line {line}: a record of over 4 GB"))
            })?;
            ends.push(end);
        }
        rows.push(Row { line, text, ends });
    }
    Ok(Some(Table {
        file: name.to_string(),
        columns: headers,
        rows,
    }))
}

/// Child records grouped by the id of the record they belong to.
type Children = HashMap<String, Vec<Value>>;

fn push_child(map: &mut Children, key: Option<&str>, value: Value) {
    if let Some(k) = key {
        map.entry(k.to_string()).or_default().push(value);
    }
}

/// Child records of tables whose rows may point at a service at a location, a service, a
/// location or an organization: each goes to the most specific parent it names.
#[derive(Default)]
struct Attached {
    by_sal: Children,
    by_service: Children,
    by_location: Children,
    by_organization: Children,
}

impl Attached {
    fn add(&mut self, table: &Table, row: &Row, value: Value) {
        if let Some(k) = table.get(row, "service_at_location_id") {
            push_child(&mut self.by_sal, Some(k), value);
        } else if let Some(k) = table.get(row, "service_id") {
            push_child(&mut self.by_service, Some(k), value);
        } else if let Some(k) = table.get(row, "location_id") {
            push_child(&mut self.by_location, Some(k), value);
        } else if let Some(k) = table.get(row, "organization_id") {
            push_child(&mut self.by_organization, Some(k), value);
        }
    }
}

/// Copies the named columns that have values into a JSON object (HSDS field names).
fn object(table: &Table, row: &Row, fields: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    for f in fields {
        if let Some(v) = table.get(row, f) {
            m.insert(f.to_string(), Value::String(v.to_string()));
        }
    }
    m
}

/// The files of an export, each known by its possible names, in the order `read_dir` uses them.
const FILES: &[&[&str]] = &[
    &["organizations.csv", "organization.csv"],
    &["services.csv", "service.csv"],
    &["phones.csv"],
    &["schedules.csv", "regular_schedules.csv"],
    &["holiday_schedules.csv"],
    &["languages.csv", "language.csv"],
    &["service_areas.csv", "service_area.csv"],
    &["cost_options.csv"],
    &["required_documents.csv", "required_document.csv"],
    &["contacts.csv", "contact.csv"],
    &["eligibility.csv", "eligibilities.csv"],
    &["accessibility.csv", "accessibility_for_disabilities.csv"],
    &["addresses.csv", "physical_addresses.csv", "address.csv"],
    &["programs.csv", "program.csv"],
    &["taxonomies.csv"],
    &["taxonomy_terms.csv", "taxonomy.csv"],
    &["attributes.csv"],
    &["services_taxonomy.csv", "service_taxonomy.csv"],
    &["locations.csv", "location.csv"],
    &[
        "service_at_location.csv",
        "services_at_location.csv",
        "service_at_locations.csv",
    ],
];

type ReadResult = (Result<Option<Table>, ImportError>, Vec<Issue>);

/// Reads and cleans the export's files on a thread of their own, in `FILES` order, while
/// `read_dir` turns the ones already read into records: parsing the CSV and building the
/// records each keep a core busy. At most two files wait, read ahead of the one being used,
/// so memory stays near what reading them one by one takes.
struct Files {
    arriving: std::sync::mpsc::Receiver<(&'static [&'static str], ReadResult)>,
    /// Files read before they were asked for (only if `read_dir` asks out of `FILES` order).
    early: HashMap<&'static str, ReadResult>,
}

impl Files {
    fn open(dir: &Path) -> Files {
        let (send, arriving) = std::sync::mpsc::sync_channel(1);
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            for names in FILES {
                let mut dropped = Vec::new();
                let table = read_table(&mut dropped, &dir, names);
                // The receiver is gone when reading stopped at an error: so do we.
                if send.send((*names, (table, dropped))).is_err() {
                    return;
                }
            }
        });
        Files {
            arriving,
            early: HashMap::new(),
        }
    }

    /// The file known by `names` (one of `FILES`); cells dropped while cleaning go to `dropped`.
    fn take(
        &mut self,
        dropped: &mut Vec<Issue>,
        names: &[&str],
    ) -> Result<Option<Table>, ImportError> {
        let key = names[0];
        let (table, mut cells) = match self.early.remove(key) {
            Some(read) => read,
            None => loop {
                match self.arriving.recv() {
                    Ok((n, read)) if n[0] == key => break read,
                    Ok((n, read)) => {
                        self.early.insert(n[0], read);
                    }
                    // Only if the reading thread stopped (or `key` is not in `FILES`).
                    Err(_) => {
                        return Err(ImportError::NotHsds(format!(
                            "{key} could not be read: the reader stopped"
                        )))
                    }
                }
            },
        };
        dropped.append(&mut cells);
        table
    }
}

pub fn read_dir(dir: &Path) -> Result<Feed, ImportError> {
    let mut dropped = Vec::new();
    let mut files = Files::open(dir);
    let organizations = files.take(&mut dropped, &["organizations.csv", "organization.csv"])?;
    let services = files.take(&mut dropped, &["services.csv", "service.csv"])?;
    let (Some(org_table), Some(service_table)) = (organizations, services) else {
        return Err(ImportError::NotHsds(format!(
            "{} has no organizations.csv and services.csv: this is not an HSDS export",
            dir.display()
        )));
    };
    for (t, needed) in [
        (&org_table, ["id", "name"]),
        (&service_table, ["id", "name"]),
    ] {
        for column in needed {
            if !t.has(column) {
                return Err(ImportError::NotHsds(format!(
                    "{} has no {column:?} column: this is not an HSDS export",
                    t.file
                )));
            }
        }
    }
    if !service_table.has("organization_id") {
        return Err(ImportError::NotHsds(format!(
            "{} has no \"organization_id\" column",
            service_table.file
        )));
    }

    let is_v3 = service_table.has("fees_description")
        || service_table.has("assured_date")
        || dir.join("attributes.csv").is_file()
        || dir.join("taxonomy_terms.csv").is_file();
    let mut feed = Feed {
        format: if is_v3 {
            "HSDS 3.0 tabular"
        } else {
            "HSDS 1.x tabular"
        }
        .to_string(),
        ..Default::default()
    };

    // Children first, so parents can take them as they are built.
    let mut phones = Attached::default();
    if let Some(t) = files.take(&mut dropped, &["phones.csv"])? {
        for row in &t.rows {
            // Spreadsheet exports sometimes keep a number's quotes ("\"+44 1234\"").
            let Some(number) = t
                .text(row, "number")
                .map(|n| n.trim_matches('"').trim().to_string())
                .filter(|n| !n.is_empty())
            else {
                feed.rejected
                    .push(t.origin(row).issue("phone has no number"));
                continue;
            };
            let mut m = object(&t, row, &["id", "extension", "type", "description"]);
            m.insert("number".into(), Value::String(number));
            if let Some(lang) = t.get(row, "language") {
                m.insert("languages".into(), json!([language(lang)]));
            }
            phones.add(&t, row, Value::Object(m));
        }
    }

    let mut schedules = Attached::default();
    for names in [
        &["schedules.csv", "regular_schedules.csv"][..],
        &["holiday_schedules.csv"][..],
    ] {
        if let Some(t) = files.take(&mut dropped, names)? {
            for row in &t.rows {
                match schedule(&|k| t.text(row, k)) {
                    Ok(Some(s)) => schedules.add(&t, row, s),
                    Ok(None) => {}
                    Err(reason) => feed.warnings.push(t.origin(row).issue(reason)),
                }
            }
        }
    }

    let mut languages = Attached::default();
    if let Some(t) = files.take(&mut dropped, &["languages.csv", "language.csv"])? {
        for row in &t.rows {
            match t.first(row, &["name", "language", "code"]) {
                Some(name) => {
                    let mut l = language(&name);
                    if let (Some(code), Some(obj)) = (t.text(row, "code"), l.as_object_mut()) {
                        obj.insert("code".into(), Value::String(code.to_lowercase()));
                    }
                    if let (Some(note), Some(obj)) = (t.text(row, "note"), l.as_object_mut()) {
                        obj.insert("note".into(), Value::String(note));
                    }
                    languages.add(&t, row, l);
                }
                None => feed
                    .warnings
                    .push(t.origin(row).issue("language row has no language")),
            }
        }
    }

    let mut by_service = |names: &[&str],
                          build: &dyn Fn(&Table, &Row) -> Option<Value>|
     -> Result<Children, ImportError> {
        let mut out = Children::new();
        if let Some(t) = files.take(&mut dropped, names)? {
            for row in &t.rows {
                if let Some(v) = build(&t, row) {
                    push_child(&mut out, t.get(row, "service_id"), v);
                }
            }
        }
        Ok(out)
    };
    let service_areas = by_service(&["service_areas.csv", "service_area.csv"], &|t, r| {
        let mut m = object(
            t,
            r,
            &["id", "name", "description", "extent", "extent_type", "uri"],
        );
        if let Some(area) = t.get(r, "service_area") {
            m.insert("name".into(), Value::String(area.to_string()));
        }
        (!m.is_empty()).then_some(Value::Object(m))
    })?;
    let cost_options = by_service(&["cost_options.csv"], &|t, r| {
        let mut m = object(
            t,
            r,
            &[
                "id",
                "valid_from",
                "valid_to",
                "option",
                "currency",
                "amount_description",
            ],
        );
        if let Some(a) = t.get(r, "amount").and_then(|a| a.parse::<f64>().ok()) {
            m.insert("amount".into(), json!(a));
        }
        Some(Value::Object(m))
    })?;
    let required_documents = by_service(
        &["required_documents.csv", "required_document.csv"],
        &|t, r| {
            let mut m = object(t, r, &["id", "document", "uri"]);
            if let Some(d) = t.get(r, "required_document") {
                m.insert("document".into(), Value::String(d.to_string()));
            }
            m.contains_key("document").then_some(Value::Object(m))
        },
    )?;
    let contacts = by_service(&["contacts.csv", "contact.csv"], &|t, r| {
        Some(Value::Object(object(
            t,
            r,
            &["id", "name", "title", "department", "email"],
        )))
    })?;
    let eligibility = by_service(&["eligibility.csv", "eligibilities.csv"], &|t, r| {
        t.text(r, "eligibility").map(Value::String)
    })?;

    let mut accessibility = Children::new();
    if let Some(t) = files.take(
        &mut dropped,
        &["accessibility.csv", "accessibility_for_disabilities.csv"],
    )? {
        for row in &t.rows {
            let mut m = object(&t, row, &["id", "description", "details", "url"]);
            if let Some(a) = t.get(row, "accessibility") {
                m.insert("description".into(), Value::String(a.to_string()));
            }
            push_child(
                &mut accessibility,
                t.get(row, "location_id"),
                Value::Object(m),
            );
        }
    }

    let mut addresses: HashMap<String, (bool, Address)> = HashMap::new();
    if let Some(t) = files.take(
        &mut dropped,
        &["addresses.csv", "physical_addresses.csv", "address.csv"],
    )? {
        for row in &t.rows {
            let Some(location) = t.text(row, "location_id") else {
                feed.warnings
                    .push(t.origin(row).issue("address has no location_id"));
                continue;
            };
            let physical = !matches!(t.get(row, "address_type"), Some("postal" | "virtual"));
            let a = Address {
                address_1: t.text(row, "address_1"),
                address_2: t.text(row, "address_2"),
                city: t.text(row, "city"),
                region: t.text(row, "region"),
                state_province: t.text(row, "state_province"),
                postal_code: t.text(row, "postal_code"),
                country: t.text(row, "country"),
            };
            // A physical address wins over a postal one.
            match addresses.get(&location) {
                Some((true, _)) if !physical => {}
                _ => {
                    addresses.insert(location, (physical, a));
                }
            }
        }
    }

    let mut programs = HashMap::new();
    if let Some(t) = files.take(&mut dropped, &["programs.csv", "program.csv"])? {
        for row in &t.rows {
            if let (Some(id), Some(name)) = (t.text(row, "id"), t.text(row, "name")) {
                programs.insert(id, name);
            }
        }
    }

    // Taxonomy: 3.0 terms + attributes, or 1.1 taxonomy + services_taxonomy.
    let mut taxonomy_names = HashMap::new();
    if let Some(t) = files.take(&mut dropped, &["taxonomies.csv"])? {
        for row in &t.rows {
            if let (Some(id), Some(name)) = (t.text(row, "id"), t.text(row, "name")) {
                taxonomy_names.insert(id, name);
            }
        }
    }
    if let Some(t) = files.take(&mut dropped, &["taxonomy_terms.csv", "taxonomy.csv"])? {
        for row in &t.rows {
            let (Some(id), Some(name)) = (t.text(row, "id"), t.text(row, "name")) else {
                feed.rejected
                    .push(t.origin(row).issue("taxonomy term has no id or name"));
                continue;
            };
            let taxonomy = t.first(row, &["taxonomy", "vocabulary"]).or_else(|| {
                t.get(row, "taxonomy_id")
                    .and_then(|x| taxonomy_names.get(x).cloned())
            });
            feed.taxonomy_terms.push(TaxonomyTerm {
                origin: t.origin(row),
                code: t
                    .text(row, "code")
                    .or_else(|| looks_like_airs_code(&id).then(|| id.clone())),
                id,
                name,
                description: t.text(row, "description"),
                parent_id: t.text(row, "parent_id"),
                taxonomy,
                language: t.text(row, "language"),
                term_uri: t.text(row, "term_uri"),
            });
        }
    }
    let mut service_terms: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(t) = files.take(&mut dropped, &["attributes.csv"])? {
        for row in &t.rows {
            let entity = t.get(row, "link_entity").unwrap_or("service");
            if let (true, Some(link), Some(term)) = (
                entity.eq_ignore_ascii_case("service"),
                t.text(row, "link_id"),
                t.text(row, "taxonomy_term_id"),
            ) {
                service_terms.entry(link).or_default().push(term);
            }
        }
    }
    if let Some(t) = files.take(
        &mut dropped,
        &["services_taxonomy.csv", "service_taxonomy.csv"],
    )? {
        for row in &t.rows {
            if let (Some(service), Some(term)) = (
                t.text(row, "service_id"),
                t.first(row, &["taxonomy_id", "taxonomy_term_id"]),
            ) {
                service_terms.entry(service).or_default().push(term);
            }
        }
    }

    // Parents.
    for row in &org_table.rows {
        let t = &org_table;
        let (Some(id), Some(name)) = (t.text(row, "id"), t.text(row, "name")) else {
            feed.rejected
                .push(t.origin(row).issue("organization has no id or no name"));
            continue;
        };
        let mut warn = |w: String| feed.warnings.push(t.origin(row).issue(w));
        feed.organizations.push(Organization {
            origin: t.origin(row),
            phones: phones.by_organization.remove(&id).unwrap_or_default(),
            alternate_name: t.text(row, "alternate_name"),
            description: t.text(row, "description"),
            email: t.text(row, "email"),
            website: t.first(row, &["website", "url"]),
            tax_status: t.text(row, "tax_status"),
            tax_id: t.text(row, "tax_id"),
            year_incorporated: integer(
                t.get(row, "year_incorporated"),
                "year_incorporated",
                &mut warn,
            ),
            legal_status: t.text(row, "legal_status"),
            logo: t.text(row, "logo"),
            uri: t.text(row, "uri"),
            parent_organization_id: t.text(row, "parent_organization_id"),
            last_modified: None,
            placeholder: false,
            id,
            name,
        });
    }

    if let Some(t) = files.take(&mut dropped, &["locations.csv", "location.csv"])? {
        for row in &t.rows {
            let Some(id) = t.text(row, "id") else {
                feed.rejected
                    .push(t.origin(row).issue("location has no id"));
                continue;
            };
            let mut warn = |w: String| feed.warnings.push(t.origin(row).issue(w));
            let (latitude, longitude) =
                coordinates(t.get(row, "latitude"), t.get(row, "longitude"), &mut warn);
            feed.locations.push(Location {
                origin: t.origin(row),
                organization_id: t.text(row, "organization_id"),
                location_type: t.text(row, "location_type"),
                name: t.text(row, "name"),
                alternate_name: t.text(row, "alternate_name"),
                description: t.text(row, "description"),
                transportation: t.text(row, "transportation"),
                url: t.text(row, "url"),
                latitude,
                longitude,
                address: addresses.remove(&id).map(|(_, a)| a),
                phones: phones.by_location.remove(&id).unwrap_or_default(),
                schedules: schedules.by_location.remove(&id).unwrap_or_default(),
                languages: languages.by_location.remove(&id).unwrap_or_default(),
                accessibility: accessibility.get(&id).cloned().unwrap_or_default(),
                last_modified: None,
                id,
            });
        }
    }

    for row in &service_table.rows {
        let t = &service_table;
        let (Some(id), Some(name)) = (t.text(row, "id"), t.text(row, "name")) else {
            feed.rejected
                .push(t.origin(row).issue("service has no id or no name"));
            continue;
        };
        let Some(organization_id) = t.text(row, "organization_id") else {
            feed.rejected
                .push(t.origin(row).issue("service has no organization_id"));
            continue;
        };
        let mut warn = |w: String| feed.warnings.push(t.origin(row).issue(w));
        let eligibility_rows: Vec<String> = eligibility
            .get(&id)
            .map(|v| {
                v.iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let eligibility_description = t
            .text(row, "eligibility_description")
            .or_else(|| (!eligibility_rows.is_empty()).then(|| eligibility_rows.join("; ")));
        let status = t.text(row, "status").map(|s| s.to_lowercase());
        let status = match status.as_deref() {
            None | Some("active" | "inactive" | "defunct" | "temporarily closed") => status,
            Some(other) => {
                warn(format!("unknown status {other:?}; treated as active"));
                None
            }
        };
        feed.services.push(Service {
            origin: t.origin(row),
            program_name: t
                .get(row, "program_id")
                .and_then(|p| programs.get(p).cloned()),
            alternate_name: t.text(row, "alternate_name"),
            description: t.text(row, "description"),
            url: t.text(row, "url"),
            email: t.text(row, "email"),
            status,
            interpretation_services: t.text(row, "interpretation_services"),
            application_process: t.text(row, "application_process"),
            fees_description: t.first(row, &["fees_description", "fees"]),
            wait_time: t.text(row, "wait_time"),
            eligibility_description,
            minimum_age: integer(t.get(row, "minimum_age"), "minimum_age", &mut warn),
            maximum_age: integer(t.get(row, "maximum_age"), "maximum_age", &mut warn),
            accreditations: t.text(row, "accreditations"),
            licenses: t.text(row, "licenses"),
            alert: t.text(row, "alert"),
            assured_date: date(t.get(row, "assured_date"), "assured_date", &mut warn),
            last_modified: timestamp(t.get(row, "last_modified"), "last_modified", &mut warn),
            phones: phones.by_service.remove(&id).unwrap_or_default(),
            schedules: schedules.by_service.remove(&id).unwrap_or_default(),
            languages: languages.by_service.remove(&id).unwrap_or_default(),
            required_documents: required_documents.get(&id).cloned().unwrap_or_default(),
            cost_options: cost_options.get(&id).cloned().unwrap_or_default(),
            service_areas: service_areas.get(&id).cloned().unwrap_or_default(),
            contacts: contacts.get(&id).cloned().unwrap_or_default(),
            taxonomy_term_ids: service_terms.remove(&id).unwrap_or_default(),
            organization_id,
            id,
            name,
        });
    }

    if let Some(t) = files.take(
        &mut dropped,
        &[
            "service_at_location.csv",
            "services_at_location.csv",
            "service_at_locations.csv",
        ],
    )? {
        for row in &t.rows {
            let (Some(service_id), Some(location_id)) =
                (t.text(row, "service_id"), t.text(row, "location_id"))
            else {
                feed.rejected.push(
                    t.origin(row)
                        .issue("service_at_location needs both service_id and location_id"),
                );
                continue;
            };
            // 1.x exports often leave the id empty: the pair is the identity then.
            let id = t
                .text(row, "id")
                .unwrap_or_else(|| format!("{service_id}@{location_id}"));
            feed.service_at_locations.push(ServiceAtLocation {
                origin: t.origin(row),
                description: t.text(row, "description"),
                phones: phones.by_sal.remove(&id).unwrap_or_default(),
                schedules: schedules.by_sal.remove(&id).unwrap_or_default(),
                id,
                service_id,
                location_id,
            });
        }
    }
    feed.warnings.extend(dropped);
    Ok(feed)
}
