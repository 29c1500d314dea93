//! Imaging biomarkers computed from pixels (issue #12): pure computations
//! over decoded values, no I/O. The engine reads the files, the store keeps
//! the results per series as features that cohorts can select on.

pub mod emphysema;

pub use emphysema::{
    analyze, plan, EmphysemaError, EmphysemaResult, Geometry, SliceHeader, METHOD_VERSION,
};
