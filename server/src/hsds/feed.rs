//! The canonical form every directory source is read into (Open Referral HSDS 3.0 in spirit),
//! before one writer stores it. Child records (phones, schedules, ...) are JSON objects in HSDS
//! 3.0 shape. Ids are the source's own ids.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A row that was left out (rejected) or a value that was dropped (warning), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// Where a record came from, for the import report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: u64,
}

impl Origin {
    pub fn new(file: &str, line: u64) -> Self {
        Origin {
            file: file.to_string(),
            line,
        }
    }

    pub fn issue(&self, reason: impl Into<String>) -> Issue {
        Issue {
            file: self.file.clone(),
            line: self.line,
            reason: reason.into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Organization {
    pub origin: Origin,
    pub id: String,
    pub name: String,
    pub alternate_name: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub tax_status: Option<String>,
    pub tax_id: Option<String>,
    pub year_incorporated: Option<i32>,
    pub legal_status: Option<String>,
    pub logo: Option<String>,
    pub uri: Option<String>,
    pub parent_organization_id: Option<String>,
    pub phones: Vec<Value>,
    pub last_modified: Option<DateTime<Utc>>,
    /// Made up by the importer for services whose organization the feed does not include.
    pub placeholder: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Address {
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub state_province: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Location {
    pub origin: Origin,
    pub id: String,
    pub organization_id: Option<String>,
    pub location_type: Option<String>,
    pub name: Option<String>,
    pub alternate_name: Option<String>,
    pub description: Option<String>,
    pub transportation: Option<String>,
    pub url: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<Address>,
    pub phones: Vec<Value>,
    pub schedules: Vec<Value>,
    pub languages: Vec<Value>,
    pub accessibility: Vec<Value>,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Service {
    pub origin: Origin,
    pub id: String,
    pub organization_id: String,
    pub program_name: Option<String>,
    pub name: String,
    pub alternate_name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub email: Option<String>,
    pub status: Option<String>,
    pub interpretation_services: Option<String>,
    pub application_process: Option<String>,
    pub fees_description: Option<String>,
    pub wait_time: Option<String>,
    pub eligibility_description: Option<String>,
    pub minimum_age: Option<i32>,
    pub maximum_age: Option<i32>,
    pub accreditations: Option<String>,
    pub licenses: Option<String>,
    pub alert: Option<String>,
    pub assured_date: Option<NaiveDate>,
    pub last_modified: Option<DateTime<Utc>>,
    pub phones: Vec<Value>,
    pub schedules: Vec<Value>,
    pub languages: Vec<Value>,
    pub required_documents: Vec<Value>,
    pub cost_options: Vec<Value>,
    pub service_areas: Vec<Value>,
    pub contacts: Vec<Value>,
    /// Source ids of taxonomy terms (resolved against `Feed::taxonomy_terms`).
    pub taxonomy_term_ids: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceAtLocation {
    pub origin: Origin,
    pub id: String,
    pub service_id: String,
    pub location_id: String,
    pub description: Option<String>,
    pub phones: Vec<Value>,
    pub schedules: Vec<Value>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaxonomyTerm {
    pub origin: Origin,
    pub id: String,
    pub code: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<String>,
    pub taxonomy: Option<String>,
    pub language: Option<String>,
    pub term_uri: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Feed {
    /// What the source is: "HSDS 3.0 tabular", "HSDS 1.1 tabular", "HSDS 3.0 JSON".
    pub format: String,
    pub organizations: Vec<Organization>,
    pub services: Vec<Service>,
    pub locations: Vec<Location>,
    pub service_at_locations: Vec<ServiceAtLocation>,
    pub taxonomy_terms: Vec<TaxonomyTerm>,
    pub rejected: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

/// Keeps the first record of each id; later ones are rejected with a reason.
fn dedupe<T>(
    items: Vec<T>,
    kind: &str,
    id: impl Fn(&T) -> &str,
    origin: impl Fn(&T) -> &Origin,
    rejected: &mut Vec<Issue>,
) -> Vec<T> {
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        if seen.insert(id(&item).to_string()) {
            kept.push(item);
        } else {
            rejected.push(origin(&item).issue(format!("duplicate {kind} id {:?}", id(&item))));
        }
    }
    kept
}

impl Feed {
    /// Enforces what the store relies on: unique ids, and every reference pointing at a record
    /// that is in the feed. Records that fail are rejected (and so are records that depend on
    /// them); optional references that dangle are dropped with a warning.
    pub fn check_references(&mut self) {
        let rejected = &mut self.rejected;
        self.organizations = dedupe(
            std::mem::take(&mut self.organizations),
            "organization",
            |o| &o.id,
            |o| &o.origin,
            rejected,
        );
        self.locations = dedupe(
            std::mem::take(&mut self.locations),
            "location",
            |l| &l.id,
            |l| &l.origin,
            rejected,
        );
        self.services = dedupe(
            std::mem::take(&mut self.services),
            "service",
            |s| &s.id,
            |s| &s.origin,
            rejected,
        );
        self.taxonomy_terms = dedupe(
            std::mem::take(&mut self.taxonomy_terms),
            "taxonomy term",
            |t| &t.id,
            |t| &t.origin,
            rejected,
        );

        let orgs: HashSet<&str> = self.organizations.iter().map(|o| o.id.as_str()).collect();
        let terms: HashSet<&str> = self.taxonomy_terms.iter().map(|t| t.id.as_str()).collect();
        for l in &mut self.locations {
            if let Some(org) = &l.organization_id {
                if !orgs.contains(org.as_str()) {
                    self.warnings.push(l.origin.issue(format!(
                        "location's organization {org:?} is not in the feed; link dropped"
                    )));
                    l.organization_id = None;
                }
            }
        }
        for s in &mut self.services {
            let before = s.taxonomy_term_ids.len();
            s.taxonomy_term_ids.retain(|t| terms.contains(t.as_str()));
            if s.taxonomy_term_ids.len() < before {
                self.warnings.push(s.origin.issue(
                    "service refers to taxonomy terms that are not in the feed; those were dropped",
                ));
            }
        }

        let services: HashSet<&str> = self.services.iter().map(|s| s.id.as_str()).collect();
        let locations: HashSet<&str> = self.locations.iter().map(|l| l.id.as_str()).collect();
        let mut seen = HashSet::new();
        let mut kept = Vec::with_capacity(self.service_at_locations.len());
        for sal in std::mem::take(&mut self.service_at_locations) {
            let reason = if !services.contains(sal.service_id.as_str()) {
                Some(format!(
                    "service {:?} is not in the feed (or was rejected)",
                    sal.service_id
                ))
            } else if !locations.contains(sal.location_id.as_str()) {
                Some(format!("location {:?} is not in the feed", sal.location_id))
            } else if !seen.insert(sal.id.clone()) {
                Some(format!("duplicate service_at_location id {:?}", sal.id))
            } else {
                None
            };
            match reason {
                Some(r) => self.rejected.push(sal.origin.issue(r)),
                None => kept.push(sal),
            }
        }
        self.service_at_locations = kept;
    }

    /// Real exports often list services of organizations they leave out (the HSDS 1.1 export
    /// in the tests names 152 organizations and includes 33). Dropping those services would
    /// hide most of the directory, so each missing organization becomes a placeholder under
    /// the same source id, named after a place the service is offered at; a later feed that
    /// includes the organization replaces it. Each one is reported.
    pub fn add_placeholder_organizations(&mut self) {
        let known: HashSet<String> = self.organizations.iter().map(|o| o.id.clone()).collect();
        let location_names: HashMap<&str, &str> = self
            .locations
            .iter()
            .filter_map(|l| l.name.as_deref().map(|n| (l.id.as_str(), n)))
            .collect();
        let mut place_of_service: HashMap<&str, &str> = HashMap::new();
        for sal in &self.service_at_locations {
            if let Some(name) = location_names.get(sal.location_id.as_str()) {
                place_of_service
                    .entry(sal.service_id.as_str())
                    .or_insert(name);
            }
        }
        let mut added: HashMap<String, Organization> = HashMap::new();
        for s in &self.services {
            if known.contains(&s.organization_id) {
                continue;
            }
            self.warnings.push(s.origin.issue(format!(
                "service's organization {:?} is not in the feed; kept under a placeholder organization",
                s.organization_id
            )));
            added
                .entry(s.organization_id.clone())
                .or_insert_with(|| Organization {
                    origin: s.origin.clone(),
                    id: s.organization_id.clone(),
                    name: place_of_service
                        .get(s.id.as_str())
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| s.name.clone()),
                    placeholder: true,
                    ..Default::default()
                });
        }
        let mut added: Vec<Organization> = added.into_values().collect();
        added.sort_by(|a, b| a.id.cmp(&b.id));
        self.organizations.extend(added);
    }

    pub fn term_index(&self) -> HashMap<&str, &TaxonomyTerm> {
        self.taxonomy_terms
            .iter()
            .map(|t| (t.id.as_str(), t))
            .collect()
    }
}
