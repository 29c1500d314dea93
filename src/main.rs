//! The `pacs-cohort` binary: the CLI today (the desktop app joins it).
//! Glue only: every feature lives in the `pacs_cohort` library.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
