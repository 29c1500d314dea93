//! The imaging worker: one thread that lists a series' images, decodes
//! the image shown (the source, or the de-identified file exactly as the
//! export writes it) and records masks. Of several decodes queued only the
//! newest runs (scrolling fast skips images); writes all run, in order.

use super::grid::GridItem;
use pacs_cohort::engine::{file_diff, DiffRow, ProfileOptions};
use pacs_cohort::model::{CohortSpec, DeviceKey, InstanceMask, InstanceRef, MaskTemplate, Rect};
use pacs_cohort::preview::{self, Frame};
use pacs_cohort::Engine;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

/// Which decoded image: (series, image index, frame, de-identified).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageKey {
    pub series: String,
    pub index: usize,
    pub frame: u32,
    pub deid: bool,
}

/// What the viewer needs besides the values.
#[derive(Debug, Clone)]
pub struct ImageFacts {
    pub modality: String,
    /// Rescale Slope and Intercept (1 and 0 when absent): the stored value
    /// is (value - intercept) / slope.
    pub slope: f64,
    pub intercept: f64,
    /// The source's manufacturer, model and size (mask templates).
    pub device: DeviceKey,
    pub transfer_syntax: String,
    pub photometric: String,
}

/// A decoded image, or why it cannot be shown.
pub type Decoded = Result<(Arc<Frame>, ImageFacts), String>;

/// Every element of a source beside what the export writes for it.
pub type Diff = Arc<Vec<DiffRow>>;

pub enum Request {
    /// The images of a series.
    Open(String),
    Decode {
        key: ImageKey,
        instance: InstanceRef,
        options: ProfileOptions,
    },
    /// Record rectangles (SOP, rect, note), all or none.
    AddMasks(Vec<(String, Rect, String)>),
    /// Record template rectangles (name, device, rect).
    AddTemplates(String, DeviceKey, Vec<Rect>),
    RemoveMask {
        id: i64,
        template: bool,
    },
    /// The series of a cohort definition's content (the grid).
    CohortSeries(CohortSpec),
    /// Text-like regions in a series' middle image (proposed masks).
    FindText(String),
}

pub enum Reply {
    Opened(String, Result<Vec<InstanceRef>, String>),
    /// With the header diff of a de-identified image (also when its
    /// pixels cannot be decoded).
    Decoded(ImageKey, Box<Decoded>, Option<Diff>),
    /// Every recorded mask and template (after any change, and on open).
    Masks(Result<(Vec<InstanceMask>, Vec<MaskTemplate>), String>),
    /// A mask write: what it did, or why it failed.
    Written(Result<String, String>),
    CohortSeries(CohortSpec, Result<Vec<GridItem>, String>),
    FoundText(String, Result<Vec<Rect>, String>),
}

pub struct Worker {
    tx: Sender<Request>,
    pub rx: Receiver<Reply>,
}

impl Worker {
    pub fn spawn(engine: Engine, wake: Arc<dyn Fn() + Send + Sync>) -> Worker {
        let (tx, req_rx) = channel::<Request>();
        let (reply_tx, rx) = channel();
        let _ = std::thread::Builder::new()
            .name("pacs-gui-imaging".into())
            .spawn(move || {
                while let Ok(first) = req_rx.recv() {
                    let mut queued = vec![first];
                    queued.extend(req_rx.try_iter());
                    // Only the newest decode runs; everything else in order.
                    let newest_decode = queued
                        .iter()
                        .rposition(|r| matches!(r, Request::Decode { .. }));
                    for (i, r) in queued.into_iter().enumerate() {
                        if matches!(r, Request::Decode { .. }) && Some(i) != newest_decode {
                            continue;
                        }
                        for reply in run(&engine, r) {
                            if reply_tx.send(reply).is_err() {
                                return;
                            }
                        }
                        wake();
                    }
                }
            });
        Worker { tx, rx }
    }

    pub fn ask(&self, r: Request) {
        let _ = self.tx.send(r);
    }
}

fn masks(engine: &Engine) -> Reply {
    Reply::Masks(engine.masks().map_err(|e| e.to_string()))
}

fn run(engine: &Engine, r: Request) -> Vec<Reply> {
    match r {
        Request::Open(uid) => {
            let list = engine.series_instances(&uid).map_err(|e| e.to_string());
            vec![Reply::Opened(uid, list), masks(engine)]
        }
        Request::Decode {
            key,
            instance,
            options,
        } => {
            let mut diff = None;
            let d = decode(engine, &key, &instance, &options, &mut diff);
            vec![Reply::Decoded(key, Box::new(d), diff)]
        }
        Request::AddMasks(list) => {
            let n = list.len();
            let done = engine
                .add_masks(&list)
                .map(|_| format!("{n} mask rectangles recorded"))
                .map_err(|e| e.to_string());
            vec![Reply::Written(done), masks(engine)]
        }
        Request::AddTemplates(name, device, rects) => {
            let mut done = Ok(format!(
                "template '{name}' recorded for {} {} {}x{}",
                device.manufacturer, device.model, device.columns, device.rows
            ));
            for r in rects {
                if let Err(e) = engine.add_mask_template(&name, &device, r) {
                    done = Err(e.to_string());
                    break;
                }
            }
            vec![Reply::Written(done), masks(engine)]
        }
        Request::RemoveMask { id, template } => {
            let done = engine
                .remove_mask(id, template)
                .map(|_| "mask removed".to_string())
                .map_err(|e| e.to_string());
            vec![Reply::Written(done), masks(engine)]
        }
        Request::FindText(uid) => {
            let found = engine.pixel_text_regions(&uid).map_err(|e| e.to_string());
            vec![Reply::FoundText(uid, found)]
        }
        Request::CohortSeries(spec) => {
            let rows = engine
                .cohort_manifest(&spec)
                .map(|rows| super::grid::items(&rows))
                .map_err(|e| e.to_string());
            vec![Reply::CohortSeries(spec, rows)]
        }
    }
}

fn decode(
    engine: &Engine,
    key: &ImageKey,
    instance: &InstanceRef,
    options: &ProfileOptions,
    diff: &mut Option<Diff>,
) -> Decoded {
    if key.deid {
        // The export's own rendering: the same bytes the export writes.
        let book = engine.mask_book().map_err(|e| e.to_string())?;
        let p = engine
            .render_deidentified(instance, options, &book)
            .map_err(|e| e.to_string())?;
        *diff = Some(Arc::new(file_diff(&p.source, &p.rendered.file, options)));
        let facts = facts(&p.source);
        let frame = preview::decode_frame(&p.rendered.file, key.frame)?;
        Ok((Arc::new(frame), facts))
    } else {
        let obj = engine.read_source(instance)?;
        let frame = preview::decode_frame(&obj, key.frame)?;
        Ok((Arc::new(frame), facts(&obj)))
    }
}

fn facts(obj: &dicom_object::DefaultDicomObject) -> ImageFacts {
    use dicom_dictionary_std::tags;
    let text = |t| {
        obj.get(t)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_matches([' ', '\0']).to_string())
            .unwrap_or_default()
    };
    let number = |t| {
        text(t)
            .split('\\')
            .next()
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let int = |t| obj.get(t).and_then(|e| e.to_int::<u32>().ok()).unwrap_or(0);
    ImageFacts {
        modality: text(tags::MODALITY),
        slope: number(tags::RESCALE_SLOPE)
            .filter(|s| *s != 0.0)
            .unwrap_or(1.0),
        intercept: number(tags::RESCALE_INTERCEPT).unwrap_or(0.0),
        device: DeviceKey {
            manufacturer: text(tags::MANUFACTURER),
            model: text(tags::MANUFACTURER_MODEL_NAME),
            rows: int(tags::ROWS),
            columns: int(tags::COLUMNS),
        },
        transfer_syntax: pacs_cohort::thumbs::transfer_syntax_name(obj.meta().transfer_syntax()),
        photometric: text(tags::PHOTOMETRIC_INTERPRETATION),
    }
}
