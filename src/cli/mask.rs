//! `pacs-cohort mask`: record the pixel masks the export applies
//! (rectangles over burned-in text), per image or as device templates.

use super::exit;
use super::output::print_json;
use pacs_cohort::model::{DeviceKey, Rect};
use pacs_cohort::Engine;
use std::path::Path;

fn rect(s: &str) -> Result<Rect, String> {
    Rect::parse(s)
}

fn size(s: &str) -> Result<(u32, u32), String> {
    let (c, r) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("an image size is COLUMNSxROWS (e.g. 640x480), not '{s}'"))?;
    match (c.trim().parse::<u32>(), r.trim().parse::<u32>()) {
        (Ok(c), Ok(r)) if c > 0 && r > 0 => Ok((c, r)),
        _ => Err(format!(
            "an image size is COLUMNSxROWS (e.g. 640x480), not '{s}'"
        )),
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum MaskCmd {
    /// Records a rectangle to mask on one image (every frame), by its
    /// original SOP Instance UID.
    Add {
        #[arg(long, value_name = "UID")]
        sop: String,
        /// x,y,width,height in pixels (x along columns, y along rows).
        #[arg(long, value_name = "X,Y,W,H", value_parser = rect)]
        rect: Vec<Rect>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Records a template rectangle for every image of a device and size.
    Template {
        /// A name for the template (e.g. "ACME US header bar").
        #[arg(long)]
        name: String,
        /// Manufacturer (0008,0070), exactly as in the images.
        #[arg(long)]
        manufacturer: String,
        /// Manufacturer's Model Name (0008,1090), exactly as in the images.
        #[arg(long)]
        model: String,
        /// COLUMNSxROWS, e.g. 640x480.
        #[arg(long, value_parser = size)]
        size: (u32, u32),
        #[arg(long, value_name = "X,Y,W,H", value_parser = rect)]
        rect: Vec<Rect>,
    },
    /// Records many image masks from a CSV with the columns
    /// sop_instance_uid,x,y,width,height[,note] (e.g. a burned-in text
    /// detector's output); all or none.
    Import { file: std::path::PathBuf },
    /// Lists masks and templates.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Removes a mask (or, with --template, a template rectangle) by id.
    Remove {
        id: i64,
        #[arg(long)]
        template: bool,
    },
}

pub fn run(db: &Path, cmd: MaskCmd) -> anyhow::Result<i32> {
    let engine = Engine::open(db)?;
    match cmd {
        MaskCmd::Add { sop, rect, note } => {
            if rect.is_empty() {
                anyhow::bail!("give at least one --rect X,Y,W,H");
            }
            for r in rect {
                let id = engine.add_mask(&sop, r, &note)?;
                println!("mask {id}: {},{},{},{}", r.x, r.y, r.width, r.height);
            }
        }
        MaskCmd::Template {
            name,
            manufacturer,
            model,
            size: (columns, rows),
            rect,
        } => {
            if rect.is_empty() {
                anyhow::bail!("give at least one --rect X,Y,W,H");
            }
            let device = DeviceKey {
                manufacturer,
                model,
                rows,
                columns,
            };
            for r in rect {
                let id = engine.add_mask_template(&name, &device, r)?;
                println!(
                    "template rectangle {id} ({name}): {},{},{},{}",
                    r.x, r.y, r.width, r.height
                );
            }
        }
        MaskCmd::Import { file } => {
            let masks = read_masks_csv(&file)?;
            let ids = engine.add_masks(&masks)?;
            println!("recorded {} masks from {}", ids.len(), file.display());
        }
        MaskCmd::List { json } => {
            let (masks, templates) = engine.masks()?;
            if json {
                print_json(&serde_json::json!({ "masks": masks, "templates": templates }))?;
            } else {
                println!(
                    "{} image masks, {} template rectangles",
                    masks.len(),
                    templates.len()
                );
                for m in &masks {
                    let r = m.rect;
                    println!(
                        "  mask {}: {} at {},{},{},{} {}",
                        m.id, m.sop_instance_uid, r.x, r.y, r.width, r.height, m.note
                    );
                }
                for t in &templates {
                    let r = t.rect;
                    println!(
                        "  template {} '{}': {} / {} {}x{} at {},{},{},{}",
                        t.id,
                        t.name,
                        t.device.manufacturer,
                        t.device.model,
                        t.device.columns,
                        t.device.rows,
                        r.x,
                        r.y,
                        r.width,
                        r.height
                    );
                }
            }
        }
        MaskCmd::Remove { id, template } => {
            engine.remove_mask(id, template)?;
            println!("removed");
        }
    }
    Ok(exit::OK)
}

/// Reads `sop_instance_uid,x,y,width,height[,note]` rows (header required).
fn read_masks_csv(file: &std::path::Path) -> anyhow::Result<Vec<(String, Rect, String)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .map_err(|e| anyhow::anyhow!("cannot read the mask CSV ({e}): {}", file.display()))?;
    let header: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            anyhow::anyhow!(
                "the mask CSV needs a '{name}' column (columns: sop_instance_uid,x,y,width,height[,note]); it has: {}",
                header.join(", ")
            )
        })
    };
    let (uid, x, y, w, h) = (
        col("sop_instance_uid")?,
        col("x")?,
        col("y")?,
        col("width")?,
        col("height")?,
    );
    let note = header.iter().position(|h| h == "note");
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| anyhow::anyhow!("mask CSV row {}: {e}", i + 2))?;
        let field = |c: usize| row.get(c).unwrap_or("").trim();
        let rect = Rect::parse(&format!(
            "{},{},{},{}",
            field(x),
            field(y),
            field(w),
            field(h)
        ))
        .map_err(|e| anyhow::anyhow!("mask CSV row {}: {e}", i + 2))?;
        out.push((
            field(uid).to_string(),
            rect,
            note.map(|c| field(c).to_string()).unwrap_or_default(),
        ));
    }
    if out.is_empty() {
        anyhow::bail!("the mask CSV has no rows: {}", file.display());
    }
    Ok(out)
}
