//! One harvest: studies by date range (split in halves while a response
//! hits the PACS's result limit, so nothing is silently truncated), then
//! each study's series, written to the index in batches as they arrive.

use super::super::EngineError;
use crate::cancel::CancelToken;
use crate::deid::dates::{civil_from_days, days_from_civil};
use crate::model::{
    HarvestProgress, HarvestQuery, HarvestReport, HeaderRecord, PacsNode, PacsProtocol,
};
use crate::net::dimse::{self, Dimse};
use crate::net::http::Web;
use crate::net::{assoc, find, qido, records, Timeouts};
use crate::store::{self, Writer};
use std::path::Path;

/// Series written per transaction.
const BATCH: usize = 512;
/// Bounds used when an open-ended range must be split.
const EARLIEST: &str = "1900-01-01";
const LATEST: &str = "2199-12-31";

pub(super) fn run(
    db: &Path,
    node: &PacsNode,
    q: &HarvestQuery,
    timeouts: Timeouts,
    cancel: &CancelToken,
    on_progress: &mut dyn FnMut(&HarvestProgress),
) -> Result<HarvestReport, EngineError> {
    for d in [&q.from, &q.to].into_iter().flatten() {
        if day_number(d).is_none() {
            return Err(EngineError::Pacs(format!(
                "'{d}' is not a date; write it as YYYY-MM-DD"
            )));
        }
    }
    let mut writer = Writer::open(db)?;
    let query_json = serde_json::to_string(q).expect("query serialises");
    let run_id = store::pacs::start_harvest(writer.conn(), db, &node.name, &query_json)?;
    let harvested_at: String = writer
        .conn()
        .query_row(
            "SELECT started_at FROM harvest_runs WHERE id = ?1",
            [run_id],
            |r| r.get(0),
        )
        .map_err(|e| store::StoreError::from_sqlite(e, db))?;
    let mut h = Harvest {
        writer: &mut writer,
        node: &node.name,
        harvested_at,
        batch: Vec::new(),
        report: HarvestReport {
            node: node.name.clone(),
            ..Default::default()
        },
        on_progress,
    };
    let result = match &node.protocol {
        PacsProtocol::Dimse { .. } => {
            let peer = super::peer(node, timeouts).expect("a DIMSE node");
            let contexts = vec![(
                dimse::STUDY_ROOT_FIND.to_string(),
                vec![
                    dimse::EXPLICIT_LE.to_string(),
                    dimse::IMPLICIT_LE.to_string(),
                ],
            )];
            match assoc::open(&peer, &contexts, &[]) {
                Ok(a) => {
                    let mut src = Source::Dimse(Dimse::new(a, peer));
                    let r = h.ranges(&mut src, q, node.max_results(), cancel);
                    if let Source::Dimse(d) = src {
                        match &r {
                            Ok(()) => d.release(),
                            Err(_) => d.abort(),
                        }
                    }
                    r
                }
                Err(e) => Err(e.into()),
            }
        }
        PacsProtocol::Web { base_url, auth, .. } => {
            let mut src = Source::Web(Web::new(base_url, auth, timeouts));
            h.ranges(&mut src, q, node.max_results(), cancel)
        }
    };
    let flushed = h.flush();
    let mut report = h.report;
    report.cancelled = cancel.is_cancelled();
    let outcome = match (&result, &flushed) {
        (Ok(()), Ok(())) if report.cancelled => "cancelled",
        (Ok(()), Ok(())) => "done",
        _ => "failed",
    };
    store::pacs::finish_harvest(writer.conn(), db, run_id, outcome, &report)?;
    result?;
    flushed?;
    writer.refresh_derived()?;
    Ok(report)
}

struct Harvest<'a> {
    writer: &'a mut Writer,
    node: &'a str,
    harvested_at: String,
    batch: Vec<(HeaderRecord, Option<i64>)>,
    report: HarvestReport,
    on_progress: &'a mut dyn FnMut(&HarvestProgress),
}

impl Harvest<'_> {
    fn add(&mut self, rec: HeaderRecord, count: Option<i64>) -> Result<(), EngineError> {
        self.batch.push((rec, count));
        self.report.series += 1;
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), EngineError> {
        if !self.batch.is_empty() {
            self.writer
                .apply_remote(self.node, &self.harvested_at, &self.batch)?;
            self.batch.clear();
        }
        self.progress();
        Ok(())
    }

    /// Tells the caller the counts so far (once per study: a study costs a
    /// network round trip, so this never limits throughput).
    fn progress(&mut self) {
        (self.on_progress)(&HarvestProgress {
            studies: self.report.studies,
            series: self.report.series,
            queries: self.report.queries,
        });
    }

    /// Queries date ranges, splitting each whose answer may be cut short
    /// (the PACS says so, or it returned as many as its known limit), then
    /// the series of every study of each complete range.
    fn ranges(
        &mut self,
        src: &mut Source,
        q: &HarvestQuery,
        limit: Option<u32>,
        cancel: &CancelToken,
    ) -> Result<(), EngineError> {
        // Ranges still to query, as (from, to); the first one may be open.
        let mut todo: Vec<Range> = vec![(q.from.clone(), q.to.clone())];
        while let Some((from, to)) = todo.pop() {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let found = src.studies(
                q,
                from.as_deref(),
                to.as_deref(),
                limit,
                cancel,
                &mut self.report.queries,
            )?;
            if found.cancelled {
                return Ok(());
            }
            let at_limit = limit.is_some_and(|l| l > 0 && found.matches >= u64::from(l));
            if found.truncated || at_limit {
                match split(from.as_deref(), to.as_deref()) {
                    Some((a, b)) => {
                        self.report.splits += 1;
                        // Later half first on the stack: the earlier half
                        // is queried next (results arrive in date order).
                        todo.push(b);
                        todo.push(a);
                        continue;
                    }
                    // Exactly the limit on one day, and the PACS said the
                    // answer was complete: believe it.
                    None if !found.truncated => {}
                    None => {
                        return Err(EngineError::Pacs(format!(
                            "the PACS returned only part of one day's studies ({} at its result limit); a day cannot be split further, so this harvest would be incomplete: raise the PACS's result limit, or harvest one modality at a time (--modality)",
                            found.matches
                        )));
                    }
                }
            }
            for study in found.studies {
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let (series, truncated) =
                    src.series(&study, limit, cancel, &mut self.report.queries)?;
                if truncated {
                    return Err(EngineError::Pacs(
                        "the PACS cut a study's series list short at its result limit, so this harvest would be incomplete; raise the PACS's result limit above the largest number of series in a study".into(),
                    ));
                }
                self.report.studies += 1;
                for (rec, n) in series {
                    self.add(rec, n)?;
                }
                self.progress();
            }
        }
        Ok(())
    }
}

/// Series of a study with the instance counts the PACS reported.
type SeriesFound = Vec<(HeaderRecord, Option<i64>)>;

/// Where the answers come from.
enum Source {
    Dimse(Dimse),
    Web(Web),
}

/// The studies of one date range.
struct Studies {
    studies: Vec<HeaderRecord>,
    matches: u64,
    truncated: bool,
    cancelled: bool,
}

impl Source {
    fn studies(
        &mut self,
        q: &HarvestQuery,
        from: Option<&str>,
        to: Option<&str>,
        limit: Option<u32>,
        cancel: &CancelToken,
        queries: &mut u64,
    ) -> Result<Studies, EngineError> {
        let mut studies = Vec::new();
        match self {
            Source::Dimse(d) => {
                let ident = records::study_identifier(q, from, to);
                *queries += 1;
                let end = find::find(d, &ident, cancel, &mut |obj| {
                    if let Some(rec) = records::study_record(&|t| records::text_of(&obj, t)) {
                        studies.push(rec);
                    }
                    Ok(())
                })?;
                Ok(Studies {
                    studies,
                    matches: end.matches,
                    truncated: end.truncated,
                    cancelled: end.cancelled,
                })
            }
            Source::Web(web) => {
                let range = HarvestQuery {
                    from: from.map(str::to_string),
                    to: to.map(str::to_string),
                    modalities: q.modalities.clone(),
                };
                let mut matches = 0;
                let complete =
                    qido::studies(web, &range, page_size(limit), cancel, queries, &mut |o| {
                        matches += 1;
                        if let Some(rec) = records::study_record(&|t| o.text(t)) {
                            studies.push(rec);
                        }
                        Ok(())
                    })?;
                Ok(Studies {
                    studies,
                    matches,
                    truncated: false,
                    cancelled: !complete,
                })
            }
        }
    }

    /// A study's series (with the PACS's instance counts), and whether the
    /// list was cut short.
    fn series(
        &mut self,
        study: &HeaderRecord,
        limit: Option<u32>,
        cancel: &CancelToken,
        queries: &mut u64,
    ) -> Result<(SeriesFound, bool), EngineError> {
        let mut found = Vec::new();
        match self {
            Source::Dimse(d) => {
                let ident = records::series_identifier(&study.study_instance_uid);
                *queries += 1;
                let end = find::find(d, &ident, cancel, &mut |obj| {
                    if let Some(s) = records::series_record(study, &|t| records::text_of(&obj, t)) {
                        found.push(s);
                    }
                    Ok(())
                })?;
                Ok((found, end.truncated))
            }
            Source::Web(web) => {
                qido::series(
                    web,
                    &study.study_instance_uid,
                    page_size(limit),
                    cancel,
                    queries,
                    &mut |o| {
                        if let Some(s) = records::series_record(study, &|t| o.text(t)) {
                            found.push(s);
                        }
                        Ok(())
                    },
                )?;
                let truncated = limit.is_some_and(|l| l > 0 && found.len() as u64 >= u64::from(l));
                Ok((found, truncated))
            }
        }
    }
}

/// QIDO page size: below a known server limit, so that a server that
/// cannot page past its limit (Orthanc) still answers each page fully.
fn page_size(limit: Option<u32>) -> usize {
    match limit {
        Some(l) if l > 1 => (l as usize - 1).min(qido::PAGE),
        _ => qido::PAGE,
    }
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn day_number(d: &str) -> Option<i64> {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, dd): (i64, i64, i64) = (
        d[0..4].parse().ok()?,
        d[5..7].parse().ok()?,
        d[8..10].parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) {
        return None;
    }
    Some(days_from_civil(y, m, dd))
}

fn day_text(n: i64) -> String {
    let (y, m, d) = civil_from_days(n);
    format!("{y:04}-{m:02}-{d:02}")
}

type Range = (Option<String>, Option<String>);

/// Halves a date range (open ends get fixed bounds); `None` for one day.
fn split(from: Option<&str>, to: Option<&str>) -> Option<(Range, Range)> {
    let a = day_number(from.unwrap_or(EARLIEST))?;
    let b = day_number(to.unwrap_or(LATEST))?;
    if b <= a {
        return None;
    }
    let mid = a + (b - a) / 2;
    Some((
        (Some(day_text(a)), Some(day_text(mid))),
        (Some(day_text(mid + 1)), Some(day_text(b))),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_halves_that_cover_every_day() {
        let ((a, b), (c, d)) = split(Some("2020-01-01"), Some("2020-01-04")).unwrap();
        assert_eq!(
            (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()),
            (
                "2020-01-01".into(),
                "2020-01-02".into(),
                "2020-01-03".into(),
                "2020-01-04".into()
            )
        );
        assert!(split(Some("2020-01-01"), Some("2020-01-01")).is_none());
        let ((a, _), (_, d)) = split(None, None).unwrap();
        assert_eq!((a.unwrap(), d.unwrap()), (EARLIEST.into(), LATEST.into()));
        let ((_, b), (c, _)) = split(Some("2020-02-28"), Some("2020-03-01")).unwrap();
        assert_eq!(
            (b.unwrap(), c.unwrap()),
            ("2020-02-29".into(), "2020-03-01".into())
        );
    }
}
