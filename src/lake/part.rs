//! One Parquet part file: rows of one table in one partition, buffered and
//! written in row groups through the low-level column writers (no Arrow).

use super::tables::{Kind, Table, Value};
use super::LakeError;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A part being written: its rows wait here until a row group is full.
pub(crate) struct Part {
    pub path: PathBuf,
    writer: SerializedFileWriter<File>,
    table: &'static Table,
    columns: Vec<usize>,
    pub rows: Vec<Vec<Value>>,
    pub written: u64,
}

fn pq(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> LakeError + '_ {
    move |e| LakeError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Part {
    /// Creates the file (owner-only when PHI may be in it) with the
    /// schema of `columns` of `table` and `metadata` in its footer.
    pub fn create(
        path: PathBuf,
        table: &'static Table,
        columns: Vec<usize>,
        metadata: Vec<(String, String)>,
    ) -> Result<Part, LakeError> {
        let schema = Arc::new(
            parquet::schema::parser::parse_message_type(&table.message_type(&columns))
                .map_err(pq(&path))?,
        );
        let file = crate::private_fs::create_new(&path).map_err(|source| LakeError::Io {
            path: path.clone(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_created_by(format!("pacs-cohort {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(
                metadata
                    .into_iter()
                    .map(|(k, v)| KeyValue::new(k, v))
                    .collect(),
            ))
            .build();
        let writer = SerializedFileWriter::new(file, schema, Arc::new(props)).map_err(pq(&path))?;
        Ok(Part {
            path,
            writer,
            table,
            columns,
            rows: Vec::new(),
            written: 0,
        })
    }

    /// The number of values a row of this part holds.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Writes the buffered rows as one row group.
    pub fn flush(&mut self) -> Result<(), LakeError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let path = self.path.clone();
        let mut group = self.writer.next_row_group().map_err(pq(&path))?;
        for (at, &c) in self.columns.iter().enumerate() {
            let kind = self.table.columns[c].kind;
            let Some(mut col) = group.next_column().map_err(pq(&path))? else {
                break;
            };
            let defs: Vec<i16> = rows
                .iter()
                .map(|r| i16::from(!matches!(r[at], Value::Null)))
                .collect();
            let present = rows
                .iter()
                .map(|r| &r[at])
                .filter(|v| !matches!(v, Value::Null));
            match kind {
                Kind::Int64 => {
                    let v: Vec<i64> = present.map(Value::as_i64).collect();
                    col.typed::<Int64Type>().write_batch(&v, Some(&defs), None)
                }
                Kind::Int32 | Kind::Date => {
                    let v: Vec<i32> = present.map(|x| x.as_i64() as i32).collect();
                    col.typed::<Int32Type>().write_batch(&v, Some(&defs), None)
                }
                Kind::Double => {
                    let v: Vec<f64> = present.map(Value::as_f64).collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&defs), None)
                }
                Kind::Bool => {
                    let v: Vec<bool> = present.map(|x| x.as_i64() != 0).collect();
                    col.typed::<BoolType>().write_batch(&v, Some(&defs), None)
                }
                Kind::Utf8 => {
                    let v: Vec<ByteArray> = present
                        .map(|x| ByteArray::from(x.as_str().as_bytes().to_vec()))
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&defs), None)
                }
            }
            .map_err(pq(&path))?;
            col.close().map_err(pq(&path))?;
        }
        group.close().map_err(pq(&path))?;
        self.written += rows.len() as u64;
        Ok(())
    }

    /// Writes what is buffered and the footer.
    pub fn finish(mut self) -> Result<(PathBuf, u64), LakeError> {
        self.flush()?;
        let path = self.path.clone();
        self.writer.close().map_err(pq(&path))?;
        Ok((self.path, self.written))
    }
}
