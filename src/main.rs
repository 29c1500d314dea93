//! The `pacs-cohort` binary: the desktop app (no arguments, or `gui`) and
//! the CLI. Glue only: every feature lives in the `pacs_cohort` library.

mod cli;
mod gui;

// glibc malloc made cross-thread frees (headers parsed on rayon threads,
// dropped by the writer) a measurable share of indexing time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
