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
