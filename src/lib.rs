//! pacs-cohort: the library that owns every piece of domain logic.
//!
//! Layers (lower never imports higher): `model` -> `dicom` -> `store` ->
//! `index` -> `engine`. `synth` generates archives through `dicom`. The
//! binary (CLI, and later the GUI) only talks to [`engine::Engine`] and the
//! plain types in [`model`]. See ARCHITECTURE.md.

pub mod analysis;
pub mod biomarker;
pub mod burnin;
pub mod cancel;
pub mod clock;
pub mod cohort;
pub mod colengine;
pub mod deid;
pub mod dicom;
pub mod engine;
pub mod export;
pub mod findings;
pub mod index;
pub mod lake;
pub mod link;
pub mod model;
pub mod net;
pub mod preview;
pub mod privacy;
pub mod private_fs;
pub mod review;
pub mod stats;
mod store;
pub mod synth;
pub mod thumbs;

pub use engine::{
    CancelToken, Engine, EngineError, JobEvent, JobHandle, Privacy, RetrieveOptions, Timeouts,
};
pub use index::{IndexError, IndexOptions};
