//! A table of counts by strata, from the index or from a user's CSV (so
//! the statistics can be checked against published tables, and users can
//! analyse counts they already have).

use super::AnalysisError;
use std::path::Path;

/// One cell: its labels (one per stratum column), its events and, when
/// known, its population or denominator.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRow {
    pub labels: Vec<String>,
    pub events: u64,
    pub denominator: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CountTable {
    /// The stratum columns, in order.
    pub columns: Vec<String>,
    pub rows: Vec<CountRow>,
}

impl CountTable {
    /// The position of a stratum column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Reads a CSV of counts: every column except `events` and `population`
/// (or `denominator`) is a stratum. Events are whole numbers of 0 or more;
/// a population is a number above 0.
pub fn read_counts_csv(path: &Path) -> Result<CountTable, AnalysisError> {
    read_csv(path, true)
}

/// Reads a population table: stratum columns and `population`.
pub fn read_population_csv(path: &Path) -> Result<CountTable, AnalysisError> {
    let table = read_csv(path, false)?;
    if table.rows.iter().any(|r| r.denominator.is_none()) {
        return Err(AnalysisError::Input(format!(
            "{} has no `population` column; a population table has one column per stratum and `population`",
            path.display()
        )));
    }
    Ok(table)
}

fn read_csv(path: &Path, events_required: bool) -> Result<CountTable, AnalysisError> {
    let shown = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| AnalysisError::Input(format!("cannot read the counts CSV {shown}: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| AnalysisError::Input(format!("{shown}: {e}")))?
        .clone();
    let events_at = headers.iter().position(|h| h == "events");
    let events_at = match events_at {
        Some(i) => Some(i),
        None if !events_required => None,
        None => return Err(missing_events(&shown, &headers)),
    };
    let denominator_at = headers
        .iter()
        .position(|h| h == "population" || h == "denominator");
    let strata: Vec<usize> = (0..headers.len())
        .filter(|i| Some(*i) != events_at && Some(*i) != denominator_at)
        .collect();
    let mut table = CountTable {
        columns: strata.iter().map(|i| headers[*i].to_string()).collect(),
        rows: Vec::new(),
    };
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record =
            record.map_err(|e| AnalysisError::Input(format!("{shown} line {line}: {e}")))?;
        let bad = |what: String| AnalysisError::Input(format!("{shown} line {line}: {what}"));
        let events: u64 = match events_at {
            None => 0,
            Some(at) => record[at].parse().map_err(|_| {
                bad(format!(
                    "events '{}' is not a whole number of 0 or more",
                    &record[at]
                ))
            })?,
        };
        let denominator = match denominator_at {
            None => None,
            Some(i) => {
                let v: f64 = record[i]
                    .parse()
                    .map_err(|_| bad(format!("'{}' is not a number", &record[i])))?;
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad(format!(
                        "the population or denominator {v} must be above 0"
                    )));
                }
                Some(v)
            }
        };
        table.rows.push(CountRow {
            labels: strata.iter().map(|i| record[*i].to_string()).collect(),
            events,
            denominator,
        });
    }
    if table.rows.is_empty() {
        return Err(AnalysisError::Input(format!("{shown} has no rows")));
    }
    Ok(table)
}

fn missing_events(shown: &str, headers: &csv::StringRecord) -> AnalysisError {
    AnalysisError::Input(format!(
        "{shown} has no `events` column (columns: {}); a counts CSV has one column per stratum, `events`, and `population` or `denominator`",
        headers.iter().collect::<Vec<_>>().join(", ")
    ))
}
