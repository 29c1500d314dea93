use rayon::prelude::*;
fn main() {
    let root = std::env::args().nth(1).unwrap();
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(root)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { files.push(p) }
        }
    }
    let t = std::time::Instant::now();
    let ok: usize = files.par_iter().map(|p| matches!(pacs_cohort::dicom::read_header(p), pacs_cohort::dicom::ReadOutcome::Instance(_)) as usize).sum();
    println!("{} ok of {} in {:?}", ok, files.len(), t.elapsed());
    let t = std::time::Instant::now();
    let ok: usize = files.iter().map(|p| matches!(pacs_cohort::dicom::read_header(p), pacs_cohort::dicom::ReadOutcome::Instance(_)) as usize).sum();
    println!("1 thread: {} ok of {} in {:?}", ok, files.len(), t.elapsed());
}
