//! The one integration-test binary: real files, real SQLite, the real CLI.

mod adversarial;
mod analysis;
mod biomarker;
mod browse;
mod burnin;
mod cohorts;
mod common;
mod equivalence;
mod export;
mod faults;
mod findings;
mod fixtures;
mod incremental;
mod interrupt;
mod lake;
mod link;
mod live;
mod masks;
mod orthanc;
mod pacs;
mod preview;
mod review;
mod robustness;
mod sites;
