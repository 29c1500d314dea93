//! The `pacs-cohort` binary: the CLI today (the desktop app joins it).
//! Glue only: every feature lives in the `pacs_cohort` library.

mod cli;

// glibc malloc made cross-thread frees (headers parsed on rayon threads,
// dropped by the writer) a measurable share of indexing time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
