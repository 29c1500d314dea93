//! `pacs-cohort pacs`: configure PACS nodes, verify them, harvest their
//! metadata into the index, retrieve a cohort.

use super::exit;
use super::output::{cancel_on_ctrl_c, print_json};
use pacs_cohort::model::RetrieveMethod;
use pacs_cohort::model::{HarvestQuery, PacsNode, PacsProtocol, WebAuth};
use pacs_cohort::{Engine, RetrieveOptions, Timeouts};
use std::path::Path;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum PacsCmd {
    /// Add a PACS node: DIMSE (--ae-title --host --port) or DICOMweb (--url).
    Add(AddArgs),
    /// List the configured nodes (secrets are not shown).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a node's settings (what was harvested from it stays indexed).
    Remove { name: String },
    /// Verify a node: C-ECHO (DIMSE) or a QIDO-RS request (DICOMweb).
    Echo {
        name: String,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Record a node's studies and series in the index (no images move).
    Harvest(HarvestArgs),
    /// Fetch the remote series of a saved cohort into the workspace cache.
    Retrieve(RetrieveArgs),
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// A name for the node.
    name: String,
    /// The PACS's AE title (DIMSE).
    #[arg(long, value_name = "AE")]
    ae_title: Option<String>,
    /// Host name or address (DIMSE).
    #[arg(long)]
    host: Option<String>,
    /// DIMSE port.
    #[arg(long)]
    port: Option<u16>,
    /// Our AE title, as configured on the PACS (DIMSE).
    #[arg(long, value_name = "AE", default_value = "PACSCOHORT")]
    calling_ae: String,
    /// Port of our own Storage SCP, for C-MOVE (DIMSE).
    #[arg(long, value_name = "PORT")]
    scp_port: Option<u16>,
    /// The PACS's query result limit, if it has one: a study query that
    /// returns this many matches is split into smaller date ranges.
    #[arg(long, value_name = "N")]
    max_results: Option<u32>,
    /// DICOMweb base URL (e.g. http://pacs:8042/dicom-web).
    #[arg(long, value_name = "URL", conflicts_with_all = ["ae_title", "host", "port"])]
    url: Option<String>,
    /// DICOMweb basic authentication user (the password is read from
    /// $PACS_COHORT_PASSWORD, so it never appears in the shell history).
    #[arg(long, requires = "url")]
    user: Option<String>,
    /// DICOMweb bearer token, read from $PACS_COHORT_TOKEN.
    #[arg(long, requires = "url")]
    bearer: bool,
    /// Replace an existing node of that name.
    #[arg(long)]
    replace: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct NetArgs {
    /// Seconds to wait for an answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
}

impl NetArgs {
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(self.timeout.clamp(1, 60)),
            read: Duration::from_secs(self.timeout.max(1)),
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct HarvestArgs {
    name: String,
    /// First study date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Last study date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Only studies with this modality (repeatable).
    #[arg(long)]
    modality: Vec<String>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: NetArgs,
}

#[derive(clap::Args, Debug)]
pub struct RetrieveArgs {
    /// A saved cohort.
    #[arg(long)]
    cohort: String,
    /// Series fetched at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Attempts per series on transient failures.
    #[arg(long, default_value_t = 3)]
    attempts: u32,
    /// How DIMSE nodes send the images: `get` (C-GET, on our association)
    /// or `move` (C-MOVE to our storage SCP on the node's --scp-port; the
    /// PACS must know our calling AE title with this machine's address).
    /// DICOMweb nodes always use WADO-RS.
    #[arg(long, value_enum, default_value_t = MethodArg::Get)]
    method: MethodArg,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: NetArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    Get,
    Move,
}

pub fn run(db: &Path, cmd: PacsCmd) -> anyhow::Result<i32> {
    let engine = Engine::open(db)?;
    match cmd {
        PacsCmd::Add(a) => add(&engine, a),
        PacsCmd::List { json } => {
            let nodes = engine.pacs_nodes()?;
            if json {
                let v: Vec<_> = nodes
                    .iter()
                    .map(|n| serde_json::json!({"name": n.name, "description": n.describe()}))
                    .collect();
                print_json(&v)?;
            } else if nodes.is_empty() {
                println!("no PACS nodes; add one with `pacs-cohort pacs add`");
            } else {
                for n in &nodes {
                    println!("{}\t{}", n.name, n.describe());
                }
                let (series, retrieved, studies) = engine.pacs_counts()?;
                println!("harvested: {studies} studies, {series} series ({retrieved} retrieved)");
            }
            Ok(exit::OK)
        }
        PacsCmd::Remove { name } => {
            engine.pacs_remove(&name)?;
            println!("removed PACS node '{name}'");
            Ok(exit::OK)
        }
        PacsCmd::Echo { name, net } => {
            let msg = engine.pacs_echo(&name, net.timeouts())?;
            println!("{msg}");
            Ok(exit::OK)
        }
        PacsCmd::Harvest(a) => harvest(&engine, a),
        PacsCmd::Retrieve(a) => retrieve(&engine, a),
    }
}

fn add(engine: &Engine, a: AddArgs) -> anyhow::Result<i32> {
    let protocol = if let Some(url) = a.url {
        let auth = match (a.user, a.bearer) {
            (Some(user), _) => WebAuth::Basic {
                user,
                password: secret("PACS_COHORT_PASSWORD", "--user")?,
            },
            (None, true) => WebAuth::Bearer {
                token: secret("PACS_COHORT_TOKEN", "--bearer")?,
            },
            (None, false) => WebAuth::None,
        };
        PacsProtocol::Web {
            base_url: url,
            auth,
            max_results: a.max_results,
        }
    } else {
        let (Some(ae_title), Some(host), Some(port)) = (a.ae_title, a.host, a.port) else {
            anyhow::bail!(
                "a DIMSE node needs --ae-title, --host and --port (or give --url for DICOMweb)"
            );
        };
        PacsProtocol::Dimse {
            ae_title,
            host,
            port,
            calling_ae: a.calling_ae,
            scp_port: a.scp_port,
            max_results: a.max_results,
        }
    };
    let node = PacsNode {
        name: a.name,
        protocol,
    };
    engine.pacs_add(&node, a.replace)?;
    println!("added PACS node '{}': {}", node.name, node.describe());
    Ok(exit::OK)
}

fn secret(var: &str, flag: &str) -> anyhow::Result<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => anyhow::bail!("{flag} needs the secret in the environment variable {var}"),
    }
}

fn harvest(engine: &Engine, a: HarvestArgs) -> anyhow::Result<i32> {
    let cancel = cancel_on_ctrl_c("everything harvested so far is kept");
    let q = HarvestQuery {
        from: a.from,
        to: a.to,
        modalities: a.modality,
    };
    let quiet = a.json;
    // Progress comes once per study: print a few times a second at most.
    let mut shown: Option<std::time::Instant> = None;
    let report = engine.pacs_harvest(&a.name, &q, a.net.timeouts(), &cancel, &mut |p| {
        if !quiet && shown.is_none_or(|t| t.elapsed() >= Duration::from_millis(200)) {
            shown = Some(std::time::Instant::now());
            eprint!(
                "\rharvesting: {} studies, {} series ({} queries)   ",
                p.studies, p.series, p.queries
            );
        }
    })?;
    if !quiet {
        eprintln!();
    }
    if a.json {
        print_json(&report)?;
    } else {
        println!(
            "{} {} studies and {} series from '{}' ({} queries, {} date range splits at the PACS's result limit)",
            if report.cancelled { "Cancelled after harvesting" } else { "Harvested" },
            report.studies,
            report.series,
            report.node,
            report.queries,
            report.splits
        );
    }
    Ok(if report.cancelled {
        exit::CANCELLED
    } else {
        exit::OK
    })
}

fn retrieve(engine: &Engine, a: RetrieveArgs) -> anyhow::Result<i32> {
    let cancel = cancel_on_ctrl_c("retrieved files are kept; run again to resume");
    let opts = RetrieveOptions {
        jobs: a.jobs.clamp(1, 16),
        attempts: a.attempts.max(1),
        timeouts: a.net.timeouts(),
        method: match a.method {
            MethodArg::Get => RetrieveMethod::Get,
            MethodArg::Move => RetrieveMethod::Move,
        },
        ..Default::default()
    };
    let quiet = a.json;
    let report = engine.pacs_retrieve(&a.cohort, &opts, &cancel, &mut |p| {
        if !quiet {
            eprint!(
                "\rretrieving: {}/{} series, {} images   ",
                p.series_done, p.series_total, p.instances
            );
        }
    })?;
    if !quiet {
        eprintln!();
    }
    if a.json {
        print_json(&report)?;
    } else {
        println!(
            "{} {} series ({} images); {} already local; {} failed; of {} remote series in the cohort",
            if report.cancelled { "Cancelled after retrieving" } else { "Retrieved" },
            report.series_retrieved,
            report.instances,
            report.series_skipped,
            report.failures.len(),
            report.series_total
        );
        for f in &report.failures {
            println!(
                "  failed: series {} on '{}': {}",
                f.series_uid, f.node, f.reason
            );
        }
        if !report.failures.is_empty() {
            println!("  run the same command again to retry; what arrived is kept");
        }
    }
    Ok(if report.cancelled {
        exit::CANCELLED
    } else if !report.failures.is_empty() {
        exit::ATTENTION
    } else {
        exit::OK
    })
}
