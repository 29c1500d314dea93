//! Hidden `bench-floor`: the I/O floor the benchmark compares against.
//! Stat walk, or open + read the first 8 KiB + close of every file.

use super::exit;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct FloorArgs {
    /// Folder to walk.
    root: PathBuf,
    /// Also open each file and read its first 8 KiB (2 threads).
    #[arg(long)]
    read: bool,
}

pub fn run(a: FloorArgs) -> anyhow::Result<i32> {
    let start = Instant::now();
    let mut files = Vec::new();
    walk(&a.root, &mut files);
    if a.read {
        use rayon::prelude::*;
        files.par_iter().for_each(|p| {
            if let Ok(mut f) = std::fs::File::open(p) {
                let mut buf = [0u8; 8192];
                let _ = f.read(&mut buf);
            }
        });
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"files\": {}, \"seconds\": {:.4}, \"files_per_second\": {:.0}}}",
        files.len(),
        secs,
        files.len() as f64 / secs
    );
    Ok(exit::OK)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&e.path(), out);
        } else if let Ok(m) = e.metadata() {
            let _ = m.len();
            out.push(e.path());
        }
    }
}
