//! The values present in the index for a list criterion, for the cohort
//! builder's pickers.

/// An attribute a list criterion picks values of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueField {
    Modality,
    BodyPart,
    Sex,
    Institution,
    Station,
    Manufacturer,
    Model,
    SopClass,
    /// The text values of one column of a linked EHR dataset.
    Ehr {
        dataset: String,
        column: String,
    },
}

/// One value as it is spelled in the index (values differing only in case
/// or surrounding spaces are one value: list criteria match that way) and
/// how many studies have it; for an EHR column, how many linked keys
/// (patients or accession numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}
