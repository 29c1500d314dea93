//! The viewer's state: which series, image and frame, source or
//! de-identified, the window, zoom and pan, decoded frames (f32 values:
//! a window drag re-windows them, never the file), and the mask
//! rectangles being drawn. Layout is in `view`; decoding in `worker`.

use super::worker::{Decoded, Diff, ImageKey};
use eframe::egui;
use pacs_cohort::model::{InstanceMask, InstanceRef, MaskTemplate, Rect};
use pacs_cohort::preview::{self, Window};

/// Decoded frames kept (a few neighbours and both views of an image).
const CACHED: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Left-drag pans.
    Pan,
    /// Left-drag draws, moves and resizes mask rectangles.
    Mask,
}

/// What a left-drag in mask mode is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaskDrag {
    /// A new rectangle from this image point.
    Draw(egui::Pos2),
    /// Moving draft `i`.
    Move(usize),
    /// Resizing draft `i` by corner (0 top-left, 1 top-right, 2
    /// bottom-right, 3 bottom-left).
    Resize(usize, u8),
}

pub struct Viewer {
    pub series_uid: String,
    pub title: String,
    /// None while the worker lists them.
    pub instances: Option<Result<Vec<InstanceRef>, String>>,
    pub index: usize,
    pub frame: u32,
    /// Show the image as the export writes it.
    pub deid: bool,
    /// None until the first image arrives (then its window, kept while
    /// scrolling).
    pub window: Option<Window>,
    /// The preset last chosen ("custom" after a drag).
    pub preset: String,
    /// Screen points per image pixel; None: fit.
    pub zoom: Option<f32>,
    pub pan: egui::Vec2,
    pub mode: Mode,
    cache: Vec<(ImageKey, Decoded, Option<Diff>)>,
    /// The decode asked for and not answered.
    pub asked: Option<ImageKey>,
    texture: Option<(ImageKey, Window, egui::TextureHandle)>,
    /// Rectangles being drawn (image pixels), not recorded yet.
    pub drafts: Vec<egui::Rect>,
    pub selected: Option<usize>,
    pub drag: Option<MaskDrag>,
    /// Every recorded mask and template (filtered per image when drawn).
    pub masks: (Vec<InstanceMask>, Vec<MaskTemplate>),
    pub template_name: String,
    /// The last mask write's outcome.
    pub message: Option<Result<String, String>>,
    /// Wheel movement not yet turned into a step (touchpads).
    pub wheel: f32,
    /// The fit scale last drawn (keyboard zoom starts from it).
    pub fit: f32,
    /// The header diff's filter text and changed-only switch.
    pub diff_filter: String,
    pub diff_changed_only: bool,
    /// Where the image was last drawn, in screen points (tests aim here).
    pub image_rect: Option<egui::Rect>,
}

impl Viewer {
    pub fn new(series_uid: String, title: String) -> Viewer {
        Viewer {
            series_uid,
            title,
            instances: None,
            index: 0,
            frame: 0,
            deid: false,
            window: None,
            preset: "from file".into(),
            zoom: None,
            pan: egui::Vec2::ZERO,
            mode: Mode::Pan,
            cache: Vec::new(),
            asked: None,
            texture: None,
            drafts: Vec::new(),
            selected: None,
            drag: None,
            masks: (Vec::new(), Vec::new()),
            template_name: String::new(),
            message: None,
            wheel: 0.0,
            fit: 1.0,
            diff_filter: String::new(),
            diff_changed_only: true,
            image_rect: None,
        }
    }

    pub fn images(&self) -> &[InstanceRef] {
        match &self.instances {
            Some(Ok(v)) => v,
            _ => &[],
        }
    }

    pub fn current(&self) -> Option<&InstanceRef> {
        self.images().get(self.index)
    }

    /// The image shown now.
    pub fn key(&self) -> Option<ImageKey> {
        self.current().map(|_| ImageKey {
            series: self.series_uid.clone(),
            index: self.index,
            frame: self.frame,
            deid: self.deid,
        })
    }

    /// The decoded image shown now, if it arrived.
    pub fn decoded(&self) -> Option<&Decoded> {
        let key = self.key()?;
        self.cache
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, d, _)| d)
    }

    /// The header diff of the image shown (de-identified view only), and
    /// whether the image's answer arrived at all.
    pub fn diff(&self) -> (bool, Option<&Diff>) {
        let Some(key) = self.key() else {
            return (false, None);
        };
        match self.cache.iter().find(|(k, _, _)| *k == key) {
            Some((_, _, diff)) => (true, diff.as_ref()),
            None => (false, None),
        }
    }

    pub fn has(&self, key: &ImageKey) -> bool {
        self.cache.iter().any(|(k, _, _)| k == key)
    }

    pub fn insert(&mut self, key: ImageKey, d: Decoded, diff: Option<Diff>) {
        if self.asked.as_ref() == Some(&key) {
            self.asked = None;
        }
        if key.series != self.series_uid {
            return;
        }
        self.cache.retain(|(k, _, _)| *k != key);
        self.cache.push((key, d, diff));
        if self.cache.len() > CACHED {
            self.cache.drain(..1);
        }
    }

    /// The de-identified renderings are out of date (masks or options
    /// changed).
    pub fn forget_deidentified(&mut self) {
        self.cache.retain(|(k, _, _)| !k.deid);
        if self.texture.as_ref().is_some_and(|(k, _, _)| k.deid) {
            self.texture = None;
        }
        if self.asked.as_ref().is_some_and(|k| k.deid) {
            self.asked = None;
        }
    }

    /// Moves `by` steps through every frame of every image (a multi-frame
    /// image's frames come one after the other).
    pub fn step(&mut self, by: i64) {
        let images = self.images();
        if images.is_empty() {
            return;
        }
        let frames: Vec<u32> = images.iter().map(|i| i.frames.max(1)).collect();
        let mut pos: i64 =
            frames[..self.index].iter().map(|f| *f as i64).sum::<i64>() + self.frame as i64;
        let total: i64 = frames.iter().map(|f| *f as i64).sum();
        pos = (pos + by).clamp(0, total - 1);
        let mut index = 0;
        while pos >= frames[index] as i64 {
            pos -= frames[index] as i64;
            index += 1;
        }
        self.index = index;
        self.frame = pos as u32;
    }

    /// The window to use for a frame: the one chosen, else the frame's.
    pub fn window_for(&mut self, f: &preview::Frame) -> Window {
        *self
            .window
            .get_or_insert_with(|| preview::initial_window(f))
    }

    /// The texture of the current image under the current window,
    /// re-windowed from the cached values when either changed.
    pub fn texture(&mut self, ctx: &egui::Context) -> Option<&egui::TextureHandle> {
        let key = self.key()?;
        let frame = match self.decoded()? {
            Ok((f, _)) => f.clone(),
            Err(_) => return None,
        };
        let w = self.window_for(&frame);
        let fresh = self
            .texture
            .as_ref()
            .is_some_and(|(k, win, _)| *k == key && *win == w);
        if !fresh {
            let rgba = preview::window_rgba(&frame, w);
            let max = ctx.input(|i| i.max_texture_side) as u32;
            let image = if frame.columns.max(frame.rows) > max {
                // Shown smaller than the GPU's limit; coordinates stay in
                // image pixels (the texture spans the image's rectangle).
                let t = pacs_cohort::thumbs::downscale(&rgba, frame.columns, frame.rows, max);
                egui::ColorImage::from_rgba_unmultiplied(
                    [t.width as usize, t.height as usize],
                    &t.rgba,
                )
            } else {
                egui::ColorImage::from_rgba_unmultiplied(
                    [frame.columns as usize, frame.rows as usize],
                    &rgba,
                )
            };
            // Nearest when magnified: the radiologist sees pixels.
            let options = egui::TextureOptions {
                magnification: egui::TextureFilter::Nearest,
                minification: egui::TextureFilter::Linear,
                ..Default::default()
            };
            match &mut self.texture {
                Some((k, win, t)) => {
                    t.set(image, options);
                    *k = key;
                    *win = w;
                }
                None => {
                    let t = ctx.load_texture("viewer", image, options);
                    self.texture = Some((key, w, t));
                }
            }
        }
        self.texture.as_ref().map(|(_, _, t)| t)
    }

    /// A window drag: horizontal changes the width, vertical the center,
    /// in steps that follow the current width (fine for a narrow window,
    /// fast for a wide one).
    pub fn drag_window(&mut self, delta: egui::Vec2) {
        if let Some(w) = &mut self.window {
            let k = (w.width / 256.0).max(0.05);
            w.width = (w.width + f64::from(delta.x) * k).max(1.0);
            w.center += f64::from(delta.y) * k;
            self.preset = "custom".into();
        }
    }

    /// The recorded masks of the image shown (id, rect, note) and the
    /// template rectangles matching its device and size (id, name, rect).
    pub fn stored_masks(
        &self,
        device: Option<&pacs_cohort::model::DeviceKey>,
    ) -> (Vec<&InstanceMask>, Vec<&MaskTemplate>) {
        let sop = self.current().map(|i| i.sop_uid.trim());
        let own = self
            .masks
            .0
            .iter()
            .filter(|m| Some(m.sop_instance_uid.trim()) == sop)
            .collect();
        let templates = self
            .masks
            .1
            .iter()
            .filter(|t| device == Some(&t.device))
            .collect();
        (own, templates)
    }

    /// The drafts as whole pixels inside a `columns` x `rows` image (empty
    /// ones dropped).
    pub fn draft_rects(&self, columns: u32, rows: u32) -> Vec<Rect> {
        self.drafts
            .iter()
            .filter_map(|r| {
                let x0 = r.min.x.clamp(0.0, columns as f32).floor() as u32;
                let y0 = r.min.y.clamp(0.0, rows as f32).floor() as u32;
                let x1 = r.max.x.clamp(0.0, columns as f32).ceil() as u32;
                let y1 = r.max.y.clamp(0.0, rows as f32).ceil() as u32;
                (x1 > x0 && y1 > y0).then_some(Rect {
                    x: x0,
                    y: y0,
                    width: x1 - x0,
                    height: y1 - y0,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(frames: u32) -> InstanceRef {
        InstanceRef {
            path: "/x".into(),
            issuer: String::new(),
            patient_id: String::new(),
            sop_uid: String::new(),
            instance_number: None,
            frames,
            transfer_syntax: String::new(),
            size: 0,
            mtime_ns: 0,
        }
    }

    #[test]
    fn stepping_walks_every_frame_of_every_image_and_stops_at_the_ends() {
        let mut v = Viewer::new("s".into(), String::new());
        v.instances = Some(Ok(vec![inst(1), inst(3), inst(1)]));
        v.step(2);
        assert_eq!((v.index, v.frame), (1, 1));
        v.step(2);
        assert_eq!((v.index, v.frame), (2, 0));
        v.step(10);
        assert_eq!((v.index, v.frame), (2, 0));
        v.step(-100);
        assert_eq!((v.index, v.frame), (0, 0));
    }

    #[test]
    fn drafts_become_whole_pixels_inside_the_image() {
        let mut v = Viewer::new("s".into(), String::new());
        v.drafts = vec![
            egui::Rect::from_min_max(egui::pos2(-5.0, 2.4), egui::pos2(10.2, 300.0)),
            egui::Rect::from_min_max(egui::pos2(3.0, 3.0), egui::pos2(3.0, 9.0)),
        ];
        assert_eq!(
            v.draft_rects(64, 64),
            vec![Rect {
                x: 0,
                y: 2,
                width: 11,
                height: 62
            }]
        );
    }
}
