//! Retrieving a cohort's remote series into the workspace cache: a few
//! workers fetch series (C-GET, or WADO-RS for a DICOMweb node) with
//! retries and backoff; the calling thread indexes each series' files as
//! it arrives, so remote rows become local ones. A resume asks the node
//! what the series holds and fetches only the images not yet in the cache.

use super::super::EngineError;
use crate::cancel::CancelToken;
use crate::model::{
    PacsNode, PacsProtocol, RetrieveFailure, RetrieveMethod, RetrieveProgress, RetrieveReport,
};
use crate::net::scp::StorageScp;
use crate::net::{cmove, get, wado, NetError, Timeouts};
use crate::store::pacs::RemoteSeries;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to retrieve.
#[derive(Debug, Clone)]
pub struct RetrieveOptions {
    /// Series fetched at once (each on its own association or connection).
    pub jobs: usize,
    /// Attempts per series for transient failures (unreachable, timeout,
    /// aborted, HTTP 5xx), with doubling waits from `backoff`.
    pub attempts: u32,
    pub backoff: Duration,
    pub timeouts: Timeouts,
    /// C-GET or C-MOVE for DIMSE nodes.
    pub method: RetrieveMethod,
}

impl Default for RetrieveOptions {
    fn default() -> RetrieveOptions {
        RetrieveOptions {
            jobs: 2,
            attempts: 3,
            backoff: Duration::from_secs(1),
            timeouts: Timeouts::default(),
            method: RetrieveMethod::Get,
        }
    }
}

/// One series' result, sent from a worker to the indexing thread.
struct Fetched {
    series: RemoteSeries,
    result: Result<Vec<PathBuf>, NetError>,
}

pub(super) fn run(
    db: &Path,
    nodes: &[PacsNode],
    series: Vec<RemoteSeries>,
    opts: &RetrieveOptions,
    cancel: &CancelToken,
    on_progress: &mut dyn FnMut(&RetrieveProgress),
) -> Result<RetrieveReport, EngineError> {
    let cache = super::retrieve_cache_dir(db);
    crate::private_fs::create_dir_all(&cache).map_err(|e| {
        EngineError::Pacs(format!(
            "cannot create the retrieval cache {} ({e}); check the workspace folder's permissions",
            cache.display()
        ))
    })?;
    let cache = std::fs::canonicalize(&cache).unwrap_or(cache);
    let nodes: HashMap<&str, &PacsNode> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut report = RetrieveReport {
        series_total: series.len() as u64,
        ..Default::default()
    };
    let mut todo = Vec::new();
    for s in series {
        let complete = s
            .remote_instances
            .is_some_and(|n| n > 0 && s.local_instances >= n);
        if complete {
            report.series_skipped += 1;
        } else if !nodes.contains_key(s.node.as_str()) {
            report.failures.push(RetrieveFailure {
                series_uid: s.series_uid.clone(),
                node: s.node.clone(),
                reason: format!(
                    "the node '{}' is no longer configured; add it again (`pacs-cohort pacs add`)",
                    s.node
                ),
            });
        } else {
            todo.push(s);
        }
    }
    // C-MOVE: one Storage SCP per DIMSE node that has series to fetch,
    // started before any request (a port in use fails the retrieval at
    // once, before anything is asked of the PACS).
    let mut scps: HashMap<String, StorageScp> = HashMap::new();
    if opts.method == RetrieveMethod::Move {
        let mut keep = Vec::new();
        for s in todo {
            let node = nodes[s.node.as_str()];
            if let PacsProtocol::Dimse {
                scp_port,
                calling_ae,
                ..
            } = &node.protocol
            {
                let Some(port) = scp_port else {
                    report.failures.push(RetrieveFailure {
                        series_uid: s.series_uid.clone(),
                        node: s.node.clone(),
                        reason: format!(
                            "C-MOVE needs our storage SCP port on the node '{}'; set it with `pacs-cohort pacs add {} ... --scp-port N --replace`, or retrieve with C-GET",
                            s.node, s.node
                        ),
                    });
                    continue;
                };
                if !scps.contains_key(&s.node) {
                    let scp = StorageScp::start(*port, calling_ae, opts.timeouts)?;
                    scps.insert(s.node.clone(), scp);
                }
            }
            keep.push(s);
        }
        todo = keep;
    }
    let mut progress = RetrieveProgress {
        series_total: report.series_total,
        series_done: report.series_skipped,
        instances: 0,
    };
    on_progress(&progress);
    let (work_tx, work_rx) = crossbeam_channel::unbounded::<RemoteSeries>();
    for s in todo {
        let _ = work_tx.send(s);
    }
    drop(work_tx);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<Fetched>(opts.jobs.max(1));
    let mut index_error = None;
    std::thread::scope(|scope| {
        for i in 0..opts.jobs.max(1) {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            let nodes = &nodes;
            let cache = &cache;
            let scps = &scps;
            std::thread::Builder::new()
                .name(format!("pacs-retrieve-{i}"))
                .spawn_scoped(scope, move || {
                    while let Ok(s) = work_rx.recv() {
                        if cancel.is_cancelled() {
                            break;
                        }
                        let node = nodes[s.node.as_str()];
                        let scp = scps.get(s.node.as_str());
                        let result = with_retries(opts, cancel, || {
                            fetch(node, &s, cache, opts, scp, cancel)
                        });
                        if done_tx.send(Fetched { series: s, result }).is_err() {
                            break;
                        }
                    }
                })
                .expect("retrieve worker starts");
        }
        drop(done_tx);
        for f in done_rx.iter() {
            match f.result {
                Ok(files) => {
                    if index_error.is_none() {
                        match crate::index::add_files(db, &cache, &files) {
                            Ok(n) => {
                                progress.instances += n;
                                report.instances += n;
                                report.series_retrieved += 1;
                            }
                            Err(e) => {
                                // The files stay in the cache; the next
                                // retrieval indexes them without a download.
                                index_error = Some(e);
                                cancel.cancel();
                            }
                        }
                    }
                }
                Err(NetError::Cancelled) => {}
                Err(e) => report.failures.push(RetrieveFailure {
                    series_uid: f.series.series_uid.clone(),
                    node: f.series.node.clone(),
                    reason: e.to_string(),
                }),
            }
            progress.series_done += 1;
            on_progress(&progress);
        }
    });
    if let Some(e) = index_error {
        return Err(e.into());
    }
    report.cancelled = cancel.is_cancelled();
    Ok(report)
}

/// Runs `f` until it succeeds, fails for good, or the attempts are spent.
fn with_retries<T>(
    opts: &RetrieveOptions,
    cancel: &CancelToken,
    mut f: impl FnMut() -> Result<T, NetError>,
) -> Result<T, NetError> {
    let mut wait = opts.backoff;
    let mut attempt = 1;
    loop {
        match f() {
            Err(e) if e.is_transient() && attempt < opts.attempts.max(1) => {
                // Sleep in small steps so that a cancel is honoured quickly.
                let until = std::time::Instant::now() + wait;
                while std::time::Instant::now() < until {
                    if cancel.is_cancelled() {
                        return Err(NetError::Cancelled);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                wait *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Fetches what the cache lacks of one series; returns every file of the
/// series now in the cache (already-present ones too, so an interrupted
/// run's files get indexed).
fn fetch(
    node: &PacsNode,
    s: &RemoteSeries,
    cache: &Path,
    opts: &RetrieveOptions,
    scp: Option<&StorageScp>,
    cancel: &CancelToken,
) -> Result<Vec<PathBuf>, NetError> {
    let dest = cache.join(get::file_name(&s.series_uid).trim_end_matches(".dcm"));
    crate::private_fs::create_dir_all(&dest).map_err(|e| NetError::Io {
        detail: e.to_string(),
    })?;
    let instances = match &node.protocol {
        PacsProtocol::Dimse { .. } => {
            let peer = super::peer(node, opts.timeouts).expect("a DIMSE node");
            get::series_instances(&peer, &s.study_uid, &s.series_uid, cancel)?
        }
        PacsProtocol::Web { base_url, auth, .. } => {
            let web = crate::net::http::Web::new(base_url, auth, opts.timeouts);
            wado::series_instances(&web, &s.study_uid, &s.series_uid, node.max_results())?
        }
    };
    let have: HashSet<String> = instances
        .iter()
        .map(|(sop, _)| get::file_name(sop))
        .filter(|name| dest.join(name).is_file())
        .collect();
    let missing: Vec<String> = instances
        .iter()
        .filter(|(sop, _)| !have.contains(&get::file_name(sop)))
        .map(|(sop, _)| sop.clone())
        .collect();
    if !missing.is_empty() {
        let only = (!have.is_empty()).then_some(missing.as_slice());
        let failed = match (&node.protocol, scp) {
            (PacsProtocol::Dimse { calling_ae, .. }, Some(scp)) => {
                let peer = super::peer(node, opts.timeouts).expect("a DIMSE node");
                scp.expect(&missing, &dest);
                let out = cmove::move_series(
                    &peer,
                    &s.study_uid,
                    &s.series_uid,
                    only,
                    calling_ae,
                    cancel,
                );
                scp.forget(&missing);
                let out = out?;
                if out.cancelled {
                    return Err(NetError::Cancelled);
                }
                out.failed
            }
            (PacsProtocol::Dimse { .. }, None) => {
                let peer = super::peer(node, opts.timeouts).expect("a DIMSE node");
                let classes: BTreeSet<String> = instances.iter().map(|(_, c)| c.clone()).collect();
                let out = get::get_series(
                    &peer,
                    &s.study_uid,
                    &s.series_uid,
                    only,
                    &classes,
                    &dest,
                    cancel,
                    &mut |_| {},
                )?;
                if out.cancelled {
                    return Err(NetError::Cancelled);
                }
                out.failed
            }
            (PacsProtocol::Web { base_url, auth, .. }, _) => {
                let web = crate::net::http::Web::new(base_url, auth, opts.timeouts);
                wado::get_series(
                    &web,
                    &s.study_uid,
                    &s.series_uid,
                    only,
                    &dest,
                    cancel,
                    &mut |_| {},
                )?;
                if cancel.is_cancelled() {
                    return Err(NetError::Cancelled);
                }
                0
            }
        };
        let now_have = instances
            .iter()
            .filter(|(sop, _)| dest.join(get::file_name(sop)).is_file())
            .count();
        if now_have < instances.len() {
            return Err(NetError::Protocol(format!(
                "the node delivered {} of the series' {} images ({failed} failed on its side); retrieve again to fetch the rest",
                now_have,
                instances.len()
            )));
        }
    }
    Ok(instances
        .iter()
        .map(|(sop, _)| dest.join(get::file_name(sop)))
        .collect())
}
