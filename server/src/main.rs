//! `server`: the Wraparound binary. With no subcommand it serves the site.

use anyhow::Context;
use app::config::Deployment;
use clap::{Parser, Subcommand};
use server::{assets, bench, db, demo, hsds, http};
use std::path::PathBuf;

/// Searches and pages allocate many short-lived buffers across threads; mimalloc's per-thread
/// free lists cost a fraction of glibc malloc's there (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "server",
    about = "Wraparound: resource directory and closed-loop referrals"
)]
struct Cli {
    /// Deployment configuration file.
    #[arg(
        long,
        env = "WRAPAROUND_CONFIG",
        default_value = "Leptos.toml",
        global = true
    )]
    config: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the site (the default).
    Serve,
    /// Bring the database schema up to date and load reference data.
    Migrate,
    /// Import a 211 directory feed: an HSDS 3.0 or 1.x CSV folder, or HSDS 3.0 JSON.
    ImportHsds {
        /// A folder of CSV files, a folder of JSON documents, or one JSON document.
        path: PathBuf,
        /// Short name of the feed (records are keyed by this and their own ids).
        #[arg(long)]
        source: Option<String>,
        /// The feed is complete: records it no longer lists become inactive.
        #[arg(long)]
        full: bool,
        /// Let a full feed make more than half of the source's services inactive.
        #[arg(long)]
        allow_mass_deactivation: bool,
    },
    /// Pull a 211's directory from its HSDS 3.0 API now: a source of `[[directory.pulls]]`, or
    /// any API given with --url. Prints progress, then the import report.
    Pull {
        /// The source to pull into (its settings come from Leptos.toml unless --url is given).
        source: String,
        /// The API's base URL (its `/services` lists the services).
        #[arg(long)]
        url: Option<String>,
        /// Everything, making inactive what the API no longer lists (default: full only when due).
        #[arg(long, conflicts_with = "incremental")]
        full: bool,
        /// Only what changed since the last good pull.
        #[arg(long)]
        incremental: bool,
    },
    /// Write the demo directory as an HSDS 3.0 datapackage.
    DemoData {
        /// Output folder.
        out: PathBuf,
        /// Every US county (~1.1 million services) instead of Kentucky.
        #[arg(long)]
        national: bool,
        /// Roughly how many services to generate.
        #[arg(long)]
        services: Option<u64>,
    },
    /// Load the Kentucky demo directory if the directory is empty, and the demo accounts (what
    /// `make run` does). Refused on a database that holds anything but demo data.
    SeedDemo {
        /// Where to write the generated datapackage.
        #[arg(long, default_value = "target/demo/ky")]
        dir: PathBuf,
        /// Plant the demo accounts (known passwords, a state administrator among them) even
        /// though the database holds other directory data or accounts.
        #[arg(long)]
        allow_other_data: bool,
        /// Leave out the demo residents (the end-to-end suite makes its own).
        #[arg(long)]
        without_residents: bool,
    },
    /// Load 1 million referrals (once) and time referral creation, the inbox and the dashboard
    /// against a running server.
    BenchReferrals {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// With 1 million residents (topped up once) beside the 1 million referrals of
    /// `bench-referrals`: time the Resident Detail Screen, the resident search and the consent
    /// check against a running server.
    BenchResidents {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// With 1 million referrals and 1 million assessments (topped up once): time the statewide
    /// metrics page and building a month's incentive report against a running server.
    BenchMetrics {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 100)]
        requests: usize,
    },
    /// The audit trail: `server audit verify` checks the hash chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the current sign-in code of a demo account.
    DemoCode { email: String },
    /// A local stand-in for the SMS provider (same HTTP API), for the demo and the tests: keeps
    /// the texts it is asked to send and can send replies (STOP) to the app's webhook.
    FakeSmsCarrier {
        #[arg(long, default_value_t = 3105)]
        port: u16,
        #[arg(long, default_value = "target/sms")]
        dir: PathBuf,
        #[arg(long, env = "WRAPAROUND_SMS_ACCOUNT")]
        account: String,
        #[arg(long, env = "WRAPAROUND_SMS_TOKEN")]
        token: String,
        /// The app's webhook for replies, e.g. http://127.0.0.1:3000/sms/inbound
        #[arg(long)]
        webhook: Option<String>,
    },
    /// Write .br and .gz copies of the built site's assets.
    Precompress { dir: PathBuf },
    /// Search relevance on bench/relevance/queries.toml (recall@10, nDCG@10), ours and a
    /// baseline, for one dataset loaded in this database.
    BenchRelevance {
        /// "ky" or "ilao": which of the set's queries.
        #[arg(long)]
        dataset: String,
        /// The state the dataset's directory serves.
        #[arg(long, default_value = "KY")]
        state: String,
        #[arg(long, default_value = "bench/relevance/queries.toml")]
        set: PathBuf,
    },
    /// Time a fixed mix of searches against a running server (and straight against Postgres).
    Bench {
        /// The running server, e.g. http://127.0.0.1:3200
        #[arg(long)]
        url: String,
        /// What this directory is, for the report.
        #[arg(long)]
        label: String,
        #[arg(long, default_value_t = 1000)]
        searches: usize,
        /// The built site, to measure the bundle.
        #[arg(long, default_value = "target/site")]
        site: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every entry's hash; report the first broken link (exit code 3) or "intact".
    Verify {
        /// A file of checkpoints (`audit checkpoint`): each must still be in the chain, which
        /// shows the end of the trail was not cut off and the chain not rewritten.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Append the newest entry's number and hash to FILE, kept outside the database (write-once
    /// storage, another system). Run it on a schedule, e.g. hourly from cron.
    Checkpoint { file: PathBuf },
}

fn source_name(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let cleaned: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let cleaned = cleaned.trim_matches('-').to_string();
    if cleaned.is_empty() {
        "feed".into()
    } else {
        cleaned.chars().take(60).collect()
    }
}

async fn load_demo_directory(
    pool: &sqlx::PgPool,
    deployment: &Deployment,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    demo::generate(dir, demo::Scale::Kentucky, None)?;
    let options = hsds::ImportOptions {
        source: "ky-demo".into(),
        full: true,
        allow_mass_deactivation: false,
        home_state: deployment.region.state.clone(),
        default_timezone: deployment.region.timezone.clone(),
        progress: false,
    };
    let report = hsds::import(pool, dir, &options)
        .await
        .context("loading the demo directory")?;
    print!("{}", report.to_text());
    Ok(())
}

#[tokio::main]
async fn main() {
    // A failed command says what went wrong in a line, never with a stack trace (even with
    // RUST_BACKTRACE set).
    if let Err(e) = run().await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries command output (import reports, bench tables).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let deployment = Deployment::load(&cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let pool = db::connect(20).await?;
            db::check_serving_role(&pool).await?;
            db::check_schema(&pool).await?;
            db::prepare_secrets(&pool, &deployment).await?;
            let options = leptos::config::get_configuration(None)?.leptos_options;
            http::check_deployment(&pool, &deployment, &options).await?;
            http::serve(pool, deployment, options).await
        }
        Command::Migrate => {
            let pool = db::connect_owner(2).await?;
            db::prepare(&pool, &deployment).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::ImportHsds {
            path,
            source,
            full,
            allow_mass_deactivation,
        } => {
            let pool = db::connect_owner(4).await?;
            db::prepare(&pool, &deployment).await?;
            let options = hsds::ImportOptions {
                source: source.unwrap_or_else(|| source_name(&path)),
                full,
                allow_mass_deactivation,
                home_state: deployment.region.state.clone(),
                default_timezone: deployment.region.timezone.clone(),
                progress: true,
            };
            eprintln!("Reading and checking {}...", path.display());
            match hsds::import(&pool, &path, &options).await {
                Ok(report) => {
                    print!("{}", report.to_text());
                    Ok(())
                }
                Err(e) => {
                    eprintln!("import failed, nothing was changed: {e}");
                    std::process::exit(2);
                }
            }
        }
        Command::Pull {
            source,
            url,
            full,
            incremental,
        } => {
            let pool = db::connect_owner(4).await?;
            db::prepare(&pool, &deployment).await?;
            let configured = deployment
                .directory
                .pulls
                .iter()
                .find(|p| p.source == source)
                .cloned();
            let settings = match (url, configured) {
                (Some(url), configured) => app::config::PullSettings {
                    source: source.clone(),
                    url,
                    ..configured.unwrap_or(app::config::PullSettings {
                        source: source.clone(),
                        url: String::new(),
                        every_minutes: 360,
                        full_every_days: 7,
                    })
                },
                (None, Some(c)) => c,
                (None, None) => anyhow::bail!(
                    "{source} is not in [[directory.pulls]] of {}; give its API with --url",
                    cli.config
                ),
            };
            let mode = if full {
                hsds::pull::Mode::Full
            } else if incremental {
                hsds::pull::Mode::Incremental
            } else {
                hsds::pull::Mode::Scheduled
            };
            eprintln!("Pulling {} from {}", settings.source, settings.url);
            match hsds::pull::pull(
                &pool,
                &deployment,
                &settings,
                mode,
                &hsds::pull::Client::new(),
                true,
            )
            .await
            {
                Ok(report) => {
                    print!("{}", report.to_text());
                    Ok(())
                }
                Err(e) => {
                    eprintln!("pull failed, nothing was changed: {e}");
                    std::process::exit(2);
                }
            }
        }
        Command::DemoData {
            out,
            national,
            services,
        } => {
            let scale = if national {
                demo::Scale::National
            } else {
                demo::Scale::Kentucky
            };
            let s = demo::generate(&out, scale, services)?;
            println!(
                "wrote {}: {} organizations, {} locations, {} services, {} services at locations, {} counties",
                out.display(), s.organizations, s.locations, s.services, s.service_at_locations, s.counties
            );
            Ok(())
        }
        Command::SeedDemo {
            dir,
            allow_other_data,
            without_residents,
        } => {
            let pool = db::connect_owner(4).await?;
            db::prepare(&pool, &deployment).await?;
            demo::check_demo_only(&pool, allow_other_data).await?;
            let (services,): (i64,) = sqlx::query_as("SELECT count(*) FROM services")
                .fetch_one(&pool)
                .await?;
            if services > 0 {
                println!("directory already has {services} services; demo data not loaded");
            } else {
                load_demo_directory(&pool, &deployment, &dir).await?;
            }
            // The demo reviewer works the chapter most counties fall to.
            let key = app::identity::sealed::prepare(&pool, &deployment).await?;
            let accounts =
                demo::accounts::seed(&pool, &deployment.onboarding.default_chapter, key).await?;
            let mut all = accounts;
            let resident = if without_residents {
                String::new()
            } else {
                let hospital = format!("hospital.staff@{}", demo::accounts::DOMAIN);
                let resident = demo::residents::seed(
                    &pool,
                    &deployment,
                    &format!("partner.staff@{}", demo::accounts::DOMAIN),
                    &hospital,
                )
                .await?;
                // A year of activity over the directory (once), and the accounts it made.
                all.extend(
                    demo::activity::seed(
                        &pool,
                        &deployment,
                        key,
                        &hospital,
                        &format!("referral.specialist@{}", demo::accounts::DOMAIN),
                    )
                    .await?,
                );
                resident
            };
            print!("{}{resident}", demo::accounts::describe(&all));
            Ok(())
        }
        Command::BenchReferrals { url, requests } => {
            let pool = db::connect_owner(4).await?;
            print!(
                "{}",
                bench::referrals(
                    &pool,
                    url.trim_end_matches('/'),
                    requests,
                    app::identity::sealed::prepare(&pool, &deployment).await?,
                )
                .await?
            );
            Ok(())
        }
        Command::BenchMetrics { url, requests } => {
            let pool = db::connect_owner(4).await?;
            print!(
                "{}",
                bench::metrics::metrics(
                    &pool,
                    url.trim_end_matches('/'),
                    requests,
                    app::identity::sealed::prepare(&pool, &deployment).await?,
                )
                .await?
            );
            Ok(())
        }
        Command::BenchResidents { url, requests } => {
            let pool = db::connect_owner(4).await?;
            print!(
                "{}",
                bench::residents::residents(
                    &pool,
                    url.trim_end_matches('/'),
                    requests,
                    &deployment.residents.sensitive_needs,
                )
                .await?
            );
            Ok(())
        }
        Command::DemoCode { email } => {
            let pool = db::connect(1).await?;
            println!(
                "{}",
                demo::accounts::current_code(
                    &pool,
                    &email,
                    app::identity::sealed::key(&deployment)?,
                )
                .await?
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { checkpoints },
        } => {
            let pool = db::connect(2).await?;
            let entries = match app::audit::verify(&pool).await? {
                app::audit::ChainCheck::Intact { entries } => entries,
                app::audit::ChainCheck::BrokenAt {
                    seq,
                    entries_before,
                } => {
                    println!("audit trail BROKEN at entry {seq} (the {entries_before} entries before it are intact)");
                    std::process::exit(3);
                }
            };
            let Some(file) = checkpoints else {
                println!("audit trail intact: {entries} entries");
                return Ok(());
            };
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut kept = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                kept.push(app::audit::Checkpoint::parse(line).with_context(|| {
                    format!("{} line {}: not a checkpoint", file.display(), i + 1)
                })?);
            }
            match app::audit::missing_checkpoint(&pool, &kept).await? {
                None => {
                    println!(
                        "audit trail intact: {entries} entries; all {} checkpoints present",
                        kept.len()
                    );
                    Ok(())
                }
                Some(c) => {
                    println!(
                        "audit trail CUT: checkpoint at entry {} is gone (entries removed from the end, or the chain rewritten)",
                        c.seq
                    );
                    std::process::exit(3);
                }
            }
        }
        Command::Audit {
            command: AuditCommand::Checkpoint { file },
        } => {
            let pool = db::connect(1).await?;
            let Some(c) = app::audit::checkpoint(&pool).await? else {
                println!("the audit trail is empty; nothing to record");
                return Ok(());
            };
            use std::io::Write;
            let line = c.to_line(chrono::Utc::now());
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .and_then(|mut f| writeln!(f, "{line}"))
                .with_context(|| format!("cannot append to {}", file.display()))?;
            println!("{line}");
            Ok(())
        }

        Command::Bench {
            url,
            label,
            searches,
            site,
        } => {
            let pool = db::connect(4).await?;
            print!(
                "{}",
                bench::run(
                    &pool,
                    &deployment,
                    url.trim_end_matches('/'),
                    &label,
                    searches,
                    &site
                )
                .await?
            );
            Ok(())
        }
        Command::BenchRelevance {
            dataset,
            state,
            set,
        } => {
            let pool = db::connect(4).await?;
            print!(
                "{}",
                bench::relevance::relevance(&pool, &deployment, &set, &dataset, &state).await?
            );
            Ok(())
        }
        Command::FakeSmsCarrier {
            port,
            dir,
            account,
            token,
            webhook,
        } => server::sms::fake_carrier::run(port, dir, account, token, webhook).await,
        Command::Precompress { dir } => {
            for (path, raw, br, gz) in assets::precompress(&dir)? {
                println!("{path}: {raw} bytes, brotli {br}, gzip {gz}");
            }
            Ok(())
        }
    }
}
