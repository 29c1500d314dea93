//! The exported tables: their columns (type, nullability, DICOM keyword
//! and tag, whether they hold PHI) and how each index row becomes an
//! exported row. Partition columns (`study_year`, `modality`) live in the
//! folder names only, as Hive-style readers expect (Spark refuses a column
//! that is both in the files and in the path).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Int64,
    Int32,
    Double,
    /// UTF-8 text.
    Utf8,
    /// Days since 1970-01-01.
    Date,
    Bool,
}

impl Kind {
    fn parquet(self) -> &'static str {
        match self {
            Kind::Int64 => "INT64",
            Kind::Int32 => "INT32",
            Kind::Double => "DOUBLE",
            Kind::Utf8 => "BYTE_ARRAY",
            Kind::Date => "INT32",
            Kind::Bool => "BOOLEAN",
        }
    }

    fn annotation(self) -> &'static str {
        match self {
            Kind::Utf8 => " (STRING)",
            Kind::Date => " (DATE)",
            _ => "",
        }
    }

    /// The SQL type engines see.
    pub fn sql(self) -> &'static str {
        match self {
            Kind::Int64 => "BIGINT",
            Kind::Int32 => "INTEGER",
            Kind::Double => "DOUBLE",
            Kind::Utf8 => "VARCHAR",
            Kind::Date => "DATE",
            Kind::Bool => "BOOLEAN",
        }
    }
}

/// One value of a row (dates as days, flags as 0/1).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    I(i64),
    F(f64),
    S(String),
}

impl Value {
    pub fn as_i64(&self) -> i64 {
        match self {
            Value::I(v) => *v,
            Value::F(v) => *v as i64,
            _ => 0,
        }
    }
    pub fn as_f64(&self) -> f64 {
        match self {
            Value::F(v) => *v,
            Value::I(v) => *v as f64,
            _ => 0.0,
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            Value::S(s) => s,
            _ => "",
        }
    }
    pub fn text(s: Option<String>) -> Value {
        s.map_or(Value::Null, Value::S)
    }
    pub fn int(v: Option<i64>) -> Value {
        v.map_or(Value::Null, Value::I)
    }
}

/// Whether a column is written, by privacy mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    /// In every export (pseudonymised where the description says so).
    Always,
    /// Only with `--with-phi` (direct identifiers).
    PhiOnly,
}

#[derive(Debug, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// The DICOM attribute it comes from, if one.
    pub keyword: Option<&'static str>,
    pub tag: Option<&'static str>,
    pub privacy: Privacy,
    pub description: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Table {
    pub name: &'static str,
    /// Hive partition columns, outermost first (in folder names only).
    pub partitions: &'static [(&'static str, Kind)],
    pub columns: &'static [Column],
}

impl Table {
    /// The columns written in this privacy mode.
    pub fn written(&self, with_phi: bool) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| with_phi || self.columns[i].privacy == Privacy::Always)
            .collect()
    }

    /// The Parquet message type of `columns`.
    pub fn message_type(&self, columns: &[usize]) -> String {
        let mut s = format!("message {} {{\n", self.name);
        for &i in columns {
            let c = &self.columns[i];
            s.push_str(&format!(
                "  {} {} {}{};\n",
                if c.nullable { "OPTIONAL" } else { "REQUIRED" },
                c.kind.parquet(),
                c.name,
                c.kind.annotation()
            ));
        }
        s.push('}');
        s
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

const fn col(
    name: &'static str,
    kind: Kind,
    nullable: bool,
    dicom: Option<(&'static str, &'static str)>,
    privacy: Privacy,
    description: &'static str,
) -> Column {
    let (keyword, tag) = match dicom {
        Some((k, t)) => (Some(k), Some(t)),
        None => (None, None),
    };
    Column {
        name,
        kind,
        nullable,
        keyword,
        tag,
        privacy,
        description,
    }
}

use Kind::*;
use Privacy::*;

const ID_NOTE: &str = "64-bit id, a keyed hash (the workspace key) of the identifier, the same in every workspace sharing the key";

pub static PATIENTS: Table = Table {
    name: "patients",
    partitions: &[],
    columns: &[
        col("patient_id", Int64, false, None, Always, ID_NOTE),
        col("patient_key", Utf8, false, Some(("PatientID", "(0010,0020)")), Always, "the keyed pseudonym of the patient ID (DECISIONS 18); the Patient ID itself with --with-phi"),
        col("sex", Utf8, true, Some(("PatientSex", "(0010,0040)")), Always, "M, F, O or empty"),
        col("issuer", Utf8, true, Some(("IssuerOfPatientID", "(0010,0021)")), PhiOnly, "the issuer of the patient ID (empty: none); removed by the de-identification profile, so written only with --with-phi"),
        col("patient_name", Utf8, true, Some(("PatientName", "(0010,0010)")), PhiOnly, "as in the files"),
        col("birth_date", Date, true, Some(("PatientBirthDate", "(0010,0030)")), PhiOnly, "as in the files"),
    ],
};

pub static STUDIES: Table = Table {
    name: "studies",
    partitions: &[("study_year", Int32)],
    columns: &[
        col("study_id", Int64, false, None, Always, ID_NOTE),
        col("patient_id", Int64, false, None, Always, ID_NOTE),
        col(
            "study_uid",
            Utf8,
            false,
            Some(("StudyInstanceUID", "(0020,000D)")),
            Always,
            "the keyed replacement UID (2.25.x); the original with --with-phi",
        ),
        col(
            "study_date",
            Date,
            true,
            Some(("StudyDate", "(0008,0020)")),
            Always,
            "shifted by the patient's keyed offset unless dates are kept",
        ),
        col(
            "study_time",
            Utf8,
            true,
            Some(("StudyTime", "(0008,0030)")),
            Always,
            "HH:MM:SS",
        ),
        col(
            "description",
            Utf8,
            true,
            Some(("StudyDescription", "(0008,1030)")),
            Always,
            "cleaned to the safe vocabulary (Clean Descriptors) unless --with-phi",
        ),
        col(
            "patient_age",
            Utf8,
            true,
            Some(("PatientAge", "(0010,1010)")),
            Always,
            "as recorded (over 89 becomes 090Y unless --with-phi)",
        ),
        col(
            "age_at_study_years",
            Int32,
            true,
            None,
            Always,
            "age at the study in whole years (over 89 becomes 90 unless --with-phi)",
        ),
        col(
            "index_seq",
            Int64,
            false,
            None,
            Always,
            "the order the study was indexed in its workspace: breaks ties between a patient's same-day studies for first_of / last_of exactly as the app does",
        ),
        col(
            "accession_number",
            Utf8,
            true,
            Some(("AccessionNumber", "(0008,0050)")),
            PhiOnly,
            "as in the files",
        ),
        col(
            "referring_physician",
            Utf8,
            true,
            Some(("ReferringPhysicianName", "(0008,0090)")),
            PhiOnly,
            "as in the files",
        ),
    ],
};

pub static SERIES: Table = Table {
    name: "series",
    partitions: &[("study_year", Int32), ("modality", Utf8)],
    columns: &[
        col("series_id", Int64, false, None, Always, ID_NOTE),
        col("study_id", Int64, false, None, Always, ID_NOTE),
        col("patient_id", Int64, false, None, Always, ID_NOTE),
        col(
            "series_uid",
            Utf8,
            false,
            Some(("SeriesInstanceUID", "(0020,000E)")),
            Always,
            "the keyed replacement UID; the original with --with-phi",
        ),
        col(
            "body_part",
            Utf8,
            true,
            Some(("BodyPartExamined", "(0018,0015)")),
            Always,
            "as in the files",
        ),
        col(
            "series_number",
            Int64,
            true,
            Some(("SeriesNumber", "(0020,0011)")),
            Always,
            "",
        ),
        col(
            "description",
            Utf8,
            true,
            Some(("SeriesDescription", "(0008,103E)")),
            Always,
            "cleaned to the safe vocabulary unless --with-phi",
        ),
        col(
            "protocol_name",
            Utf8,
            true,
            Some(("ProtocolName", "(0018,1030)")),
            Always,
            "cleaned to the safe vocabulary unless --with-phi",
        ),
        col(
            "institution_name",
            Utf8,
            true,
            Some(("InstitutionName", "(0008,0080)")),
            Always,
            "the site",
        ),
        col(
            "station_name",
            Utf8,
            true,
            Some(("StationName", "(0008,1010)")),
            Always,
            "",
        ),
        col(
            "manufacturer",
            Utf8,
            true,
            Some(("Manufacturer", "(0008,0070)")),
            Always,
            "",
        ),
        col(
            "model_name",
            Utf8,
            true,
            Some(("ManufacturerModelName", "(0008,1090)")),
            Always,
            "",
        ),
    ],
};

pub static INSTANCES: Table = Table {
    name: "instances",
    partitions: &[("study_year", Int32), ("modality", Utf8)],
    columns: &[
        col("instance_id", Int64, false, None, Always, ID_NOTE),
        col("series_id", Int64, false, None, Always, ID_NOTE),
        col("study_id", Int64, false, None, Always, ID_NOTE),
        col("patient_id", Int64, false, None, Always, ID_NOTE),
        col(
            "sop_uid",
            Utf8,
            false,
            Some(("SOPInstanceUID", "(0008,0018)")),
            Always,
            "the keyed replacement UID; the original with --with-phi",
        ),
        col(
            "sop_class_uid",
            Utf8,
            true,
            Some(("SOPClassUID", "(0008,0016)")),
            Always,
            "",
        ),
        col(
            "instance_number",
            Int64,
            true,
            Some(("InstanceNumber", "(0020,0013)")),
            Always,
            "",
        ),
        col(
            "image_type",
            Utf8,
            true,
            Some(("ImageType", "(0008,0008)")),
            Always,
            "values joined by \\",
        ),
        col(
            "rows",
            Int32,
            true,
            Some(("Rows", "(0028,0010)")),
            Always,
            "",
        ),
        col(
            "columns",
            Int32,
            true,
            Some(("Columns", "(0028,0011)")),
            Always,
            "",
        ),
        col(
            "frames",
            Int32,
            true,
            Some(("NumberOfFrames", "(0028,0008)")),
            Always,
            "",
        ),
        col(
            "bits_allocated",
            Int32,
            true,
            Some(("BitsAllocated", "(0028,0100)")),
            Always,
            "",
        ),
        col(
            "photometric",
            Utf8,
            true,
            Some(("PhotometricInterpretation", "(0028,0004)")),
            Always,
            "",
        ),
        col(
            "transfer_syntax_uid",
            Utf8,
            true,
            Some(("TransferSyntaxUID", "(0002,0010)")),
            Always,
            "",
        ),
        col(
            "slice_thickness_mm",
            Double,
            true,
            Some(("SliceThickness", "(0018,0050)")),
            Always,
            "",
        ),
        col(
            "kvp",
            Double,
            true,
            Some(("KVP", "(0018,0060)")),
            Always,
            "",
        ),
        col(
            "contrast_agent",
            Utf8,
            true,
            Some(("ContrastBolusAgent", "(0018,0010)")),
            Always,
            "cleaned to the safe vocabulary unless --with-phi",
        ),
        col(
            "burned_in_annotation",
            Utf8,
            true,
            Some(("BurnedInAnnotation", "(0028,0301)")),
            Always,
            "",
        ),
        col(
            "has_contrast",
            Bool,
            false,
            None,
            Always,
            "a contrast agent is recorded",
        ),
        col(
            "file_path",
            Utf8,
            true,
            None,
            PhiOnly,
            "the archive root joined with the file's path",
        ),
    ],
};

pub static FILES: Table = Table {
    name: "files",
    partitions: &[],
    columns: &[
        col(
            "file_id",
            Int64,
            false,
            None,
            Always,
            "64-bit id, a keyed hash of the file's archive root and path",
        ),
        col(
            "status",
            Utf8,
            false,
            None,
            Always,
            "ok, not-dicom, unreadable, truncated, missing-uid, duplicate, dicomdir, ...",
        ),
        col("reason", Utf8, true, None, Always, "why a file is not ok"),
        col("size_bytes", Int64, false, None, Always, ""),
        col(
            "sop_uid",
            Utf8,
            true,
            Some(("SOPInstanceUID", "(0008,0018)")),
            Always,
            "the keyed replacement UID; the original with --with-phi",
        ),
        col(
            "path",
            Utf8,
            false,
            None,
            PhiOnly,
            "the archive root joined with the file's path",
        ),
    ],
};

/// Every table, in the order they are written.
pub static ALL: [&Table; 5] = [&PATIENTS, &STUDIES, &SERIES, &INSTANCES, &FILES];

/// The OMOP tables written with `--omop`.
pub static OMOP: [&Table; 3] = [&OMOP_PERSON, &OMOP_PROCEDURE, &OMOP_IMAGE];

/// OMOP CDM v5.4 `person`, the rows `image_occurrence` refers to.
pub static OMOP_PERSON: Table = Table {
    name: "omop/person",
    partitions: &[],
    columns: &[
        col("person_id", Int64, false, None, Always, ID_NOTE),
        col("gender_concept_id", Int32, false, None, Always, "8507 male, 8532 female, 0 otherwise"),
        col("year_of_birth", Int32, true, None, Always, "from the birth date with --with-phi, else the (shifted) year of the first study minus the age then"),
        col("race_concept_id", Int32, false, None, Always, "0 (not in DICOM)"),
        col("ethnicity_concept_id", Int32, false, None, Always, "0 (not in DICOM)"),
        col("person_source_value", Utf8, false, None, Always, "the patient key (pseudonym unless --with-phi)"),
        col("gender_source_value", Utf8, true, Some(("PatientSex", "(0010,0040)")), Always, ""),
    ],
};

/// OMOP CDM v5.4 `procedure_occurrence`: one row per imaging study.
pub static OMOP_PROCEDURE: Table = Table {
    name: "omop/procedure_occurrence",
    partitions: &[],
    columns: &[
        col(
            "procedure_occurrence_id",
            Int64,
            false,
            None,
            Always,
            "the study's id",
        ),
        col("person_id", Int64, false, None, Always, ID_NOTE),
        col(
            "procedure_concept_id",
            Int32,
            false,
            None,
            Always,
            "from the concept map (procedure, study description), else 0",
        ),
        col(
            "procedure_date",
            Date,
            true,
            Some(("StudyDate", "(0008,0020)")),
            Always,
            "shifted unless dates are kept",
        ),
        col(
            "procedure_type_concept_id",
            Int32,
            false,
            None,
            Always,
            "32817 (EHR)",
        ),
        col(
            "visit_occurrence_id",
            Int64,
            true,
            None,
            Always,
            "empty (no visit in DICOM)",
        ),
        col(
            "procedure_source_value",
            Utf8,
            true,
            Some(("StudyDescription", "(0008,1030)")),
            Always,
            "cleaned unless --with-phi",
        ),
    ],
};

/// The OMOP Medical Imaging CDM's `image_occurrence`: one row per series.
pub static OMOP_IMAGE: Table = Table {
    name: "omop/image_occurrence",
    partitions: &[],
    columns: &[
        col(
            "image_occurrence_id",
            Int64,
            false,
            None,
            Always,
            "the series' id",
        ),
        col("person_id", Int64, false, None, Always, ID_NOTE),
        col(
            "procedure_occurrence_id",
            Int64,
            false,
            None,
            Always,
            "the study's id",
        ),
        col("visit_occurrence_id", Int64, true, None, Always, "empty"),
        col(
            "anatomic_site_concept_id",
            Int32,
            false,
            Some(("BodyPartExamined", "(0018,0015)")),
            Always,
            "from the concept map (body_part), else 0",
        ),
        col(
            "wadors_uri",
            Utf8,
            true,
            None,
            Always,
            "empty (local archive)",
        ),
        col(
            "local_path",
            Utf8,
            true,
            None,
            PhiOnly,
            "the series' folder (its first file's folder)",
        ),
        col(
            "image_occurrence_date",
            Date,
            true,
            Some(("StudyDate", "(0008,0020)")),
            Always,
            "shifted unless dates are kept",
        ),
        col(
            "image_study_uid",
            Utf8,
            false,
            Some(("StudyInstanceUID", "(0020,000D)")),
            Always,
            "the keyed replacement unless --with-phi",
        ),
        col(
            "image_series_uid",
            Utf8,
            false,
            Some(("SeriesInstanceUID", "(0020,000E)")),
            Always,
            "the keyed replacement unless --with-phi",
        ),
        col(
            "modality_concept_id",
            Int32,
            false,
            Some(("Modality", "(0008,0060)")),
            Always,
            "from the concept map (modality), else 0",
        ),
    ],
};
