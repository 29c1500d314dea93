//! Pixel masks as stored: per source instance, and templates per device
//! and image size (burned-in text sits in the same place on every image a
//! device makes at one size).

use serde::{Deserialize, Serialize};

/// A rectangle in image coordinates (columns x, rows y), applied to every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// Parses `x,y,width,height` (pixels).
    pub fn parse(s: &str) -> Result<Rect, String> {
        let n: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                format!("a mask rectangle is x,y,width,height in whole pixels, not '{s}'")
            })?;
        match n[..] {
            [x, y, width, height] if width > 0 && height > 0 => Ok(Rect {
                x,
                y,
                width,
                height,
            }),
            [_, _, _, _] => Err(format!(
                "a mask rectangle needs a width and height above 0: '{s}'"
            )),
            _ => Err(format!(
                "a mask rectangle is x,y,width,height (4 numbers), not '{s}'"
            )),
        }
    }

    /// Whether the rectangle lies inside an image of `rows` x `columns`.
    pub fn fits(&self, rows: u32, columns: u32) -> bool {
        self.x as u64 + self.width as u64 <= columns as u64
            && self.y as u64 + self.height as u64 <= rows as u64
    }

    /// The share of this rectangle's pixels inside the union of `regions`
    /// (how much of a text line a set of proposed masks would hide).
    pub fn covered_share(&self, regions: &[Rect]) -> f64 {
        let mut covered = 0u64;
        for y in self.y..self.y + self.height {
            for x in self.x..self.x + self.width {
                if regions
                    .iter()
                    .any(|r| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)
                {
                    covered += 1;
                }
            }
        }
        covered as f64 / f64::from(self.width * self.height)
    }
}

/// A rectangle recorded for one source instance (by its original SOP
/// Instance UID, never an index row id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceMask {
    pub id: i64,
    pub sop_instance_uid: String,
    pub rect: Rect,
    pub note: String,
}

/// The images a template applies to: exact manufacturer and model (trimmed)
/// and image size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceKey {
    pub manufacturer: String,
    pub model: String,
    pub rows: u32,
    pub columns: u32,
}

/// One rectangle of a named template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskTemplate {
    pub id: i64,
    pub name: String,
    pub device: DeviceKey,
    pub rect: Rect,
}
