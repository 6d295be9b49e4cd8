//! The Wraparound server: HTTP routes, the command line (import, demo data, migrations), and
//! the system interfaces (HSDS feeds and API).

pub mod assets;
pub mod bench;
pub mod db;
pub mod demo;
pub mod hsds;
pub mod http;
pub mod input;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod places;
pub mod sms;
