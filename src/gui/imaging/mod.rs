//! Pixels in the app (issue #11): series thumbnails (`thumbs`), the
//! viewer (`viewer` state, `view` layout, `worker` decoding and mask
//! writes), the cohort's thumbnail grid (`grid`) and the review queue
//! (`review`). Its own state and commands: the app holds one `Imaging`,
//! drains it each frame and hands it `Cmd`s pushed by panels.

mod grid;
pub mod review;
mod review_view;
pub mod thumbs;
pub mod view;
pub mod viewer;
pub mod worker;

use eframe::egui;
use pacs_cohort::engine::ProfileOptions;
use pacs_cohort::model::CohortSpec;
use pacs_cohort::Engine;
use std::sync::Arc;
use std::time::Instant;
use viewer::Viewer;
use worker::{Reply, Request, Worker};

pub use grid::show as grid_show;
pub use review_view::{show as review_show, View as ReviewView};

/// What the imaging panels ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// A series row was clicked (Enter opens it).
    SelectSeries(String),
    /// Open the viewer on a series (double-click or Enter): (uid, title).
    OpenSeries(String, String),
    CloseViewer,
    /// Record the drawn rectangles for the image shown, or for every
    /// image of its series.
    ApplyMasks {
        series: bool,
    },
    /// Record the drawn rectangles as a template for the shown image's
    /// manufacturer, model and size.
    SaveTemplate,
    RemoveMask {
        id: i64,
        template: bool,
    },
    /// Propose masks where the text detector finds text-like regions (in
    /// the series' middle image).
    FindText,
    /// List the series of this cohort definition for the grid.
    CohortSeries(CohortSpec),
    Review(review::Cmd),
}

pub struct Imaging {
    pub thumbs: thumbs::Thumbs,
    pub viewer: Option<Viewer>,
    /// The series selected in the study browser's series table.
    pub selected_series: Option<String>,
    pub grid: grid::Grid,
    pub review: review::Queue,
    worker: Worker,
    /// The profile options the de-identified image was rendered with.
    options: ProfileOptions,
    /// Mask writes sent and not answered (tests wait for them).
    writes: usize,
}

impl Imaging {
    pub fn new(
        engine: Engine,
        picker: Arc<dyn crate::gui::picker::FolderPicker>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Imaging {
        Imaging {
            thumbs: thumbs::Thumbs::spawn(engine.clone(), wake.clone()),
            viewer: None,
            selected_series: None,
            grid: grid::Grid::default(),
            review: review::Queue::spawn(engine.clone(), picker, wake.clone()),
            worker: Worker::spawn(engine, wake),
            options: ProfileOptions::default(),
            writes: 0,
        }
    }

    /// Whether anything is waiting for a worker (tests, busy indicator).
    pub fn busy(&self) -> bool {
        self.writes > 0
            || self.thumbs.busy()
            || self.grid.loading
            || self.review.busy()
            || self
                .viewer
                .as_ref()
                .is_some_and(|v| v.instances.is_none() || v.asked.is_some())
    }

    /// Once per frame before layout: answers from the workers, the decode
    /// the viewer needs next; `options` are the profile options now.
    pub fn drain(&mut self, options: ProfileOptions, reviewer: &str, deadline: Instant) {
        if options != self.options {
            self.options = options;
            if let Some(v) = &mut self.viewer {
                v.forget_deidentified();
            }
            self.review.options_changed(options);
        }
        if self.review.reviewer != reviewer {
            self.review.reviewer = reviewer.to_string();
        }
        if let Some((uid, title)) = self.review.drain(deadline) {
            self.open_for_review(uid, title);
        }
        while Instant::now() < deadline {
            let Ok(reply) = self.worker.rx.try_recv() else {
                break;
            };
            self.on_reply(reply);
        }
        if let Some(v) = &mut self.viewer {
            if let (Some(key), Some(inst)) = (v.key(), v.current().cloned()) {
                if !v.has(&key) && v.asked.as_ref() != Some(&key) {
                    v.asked = Some(key.clone());
                    self.worker.ask(Request::Decode {
                        key,
                        instance: inst,
                        options: self.options,
                    });
                }
            }
        }
    }

    /// Once per frame after layout: thumbnails asked for during layout
    /// are queued and finished ones uploaded.
    pub fn end_frame(&mut self, ctx: &egui::Context, deadline: Instant) {
        self.thumbs.end_frame(ctx, deadline);
    }

    fn on_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Opened(uid, list) => {
                if let Some(v) = self.viewer.as_mut().filter(|v| v.series_uid == uid) {
                    v.instances = Some(list);
                    // Start in the middle, like the thumbnail.
                    let n = v.images().len();
                    v.index = n / 2;
                    v.frame = v.current().map(|i| i.frames.max(1) / 2).unwrap_or(0);
                }
            }
            Reply::Decoded(key, d, diff) => {
                if let Some(v) = &mut self.viewer {
                    v.insert(key, *d, diff);
                }
            }
            Reply::Masks(Ok(m)) => {
                if let Some(v) = &mut self.viewer {
                    let changed = v.masks != m;
                    v.masks = m;
                    if changed {
                        // The export's masks changed: so does its image.
                        v.forget_deidentified();
                    }
                }
                self.review.masks_changed();
            }
            Reply::Masks(Err(e)) => {
                if let Some(v) = &mut self.viewer {
                    v.message = Some(Err(e));
                }
            }
            Reply::Written(Err(e)) => {
                self.writes = self.writes.saturating_sub(1);
                if let Some(v) = &mut self.viewer {
                    v.message = Some(Err(e));
                }
            }
            Reply::Written(Ok(m)) => {
                self.writes = self.writes.saturating_sub(1);
                if let Some(v) = &mut self.viewer {
                    v.message = Some(Ok(m));
                    v.drafts.clear();
                    v.selected = None;
                }
            }
            Reply::CohortSeries(spec, rows) => self.grid.answered(spec, rows),
            Reply::FoundText(uid, found) => {
                self.writes = self.writes.saturating_sub(1);
                if let Some(v) = self.viewer.as_mut().filter(|v| v.series_uid == uid) {
                    v.message = Some(match found {
                        Ok(rects) => {
                            let n = rects.len();
                            v.drafts.extend(rects.iter().map(|r| {
                                egui::Rect::from_min_size(
                                    egui::pos2(r.x as f32, r.y as f32),
                                    egui::vec2(r.width as f32, r.height as f32),
                                )
                            }));
                            Ok(if n == 0 {
                                "the text detector found no text-like regions in the middle image"
                                    .into()
                            } else {
                                format!("{n} text-like regions proposed (new rectangles): check, adjust, then apply")
                            })
                        }
                        Err(e) => Err(e),
                    });
                }
            }
        }
    }

    pub fn handle(&mut self, c: Cmd) {
        match c {
            Cmd::SelectSeries(uid) => self.selected_series = Some(uid),
            Cmd::OpenSeries(uid, title) => self.open(uid, title),
            Cmd::CloseViewer => self.viewer = None,
            Cmd::ApplyMasks { series } => {
                let Some(v) = &self.viewer else { return };
                let Some(Ok((frame, _))) = v.decoded() else {
                    return;
                };
                let rects = v.draft_rects(frame.columns, frame.rows);
                let targets: Vec<String> = if series {
                    v.images().iter().map(|i| i.sop_uid.clone()).collect()
                } else {
                    v.current().map(|i| i.sop_uid.clone()).into_iter().collect()
                };
                let note = if series {
                    "drawn in the viewer, for the series"
                } else {
                    "drawn in the viewer"
                };
                let list: Vec<_> = targets
                    .iter()
                    .flat_map(|sop| {
                        rects
                            .iter()
                            .map(move |r| (sop.clone(), *r, note.to_string()))
                    })
                    .collect();
                if !list.is_empty() {
                    self.writes += 1;
                    self.worker.ask(Request::AddMasks(list));
                }
            }
            Cmd::SaveTemplate => {
                let Some(v) = &self.viewer else { return };
                let Some(Ok((frame, facts))) = v.decoded() else {
                    return;
                };
                let rects = v.draft_rects(frame.columns, frame.rows);
                if !rects.is_empty() {
                    self.writes += 1;
                    self.worker.ask(Request::AddTemplates(
                        v.template_name.trim().to_string(),
                        facts.device.clone(),
                        rects,
                    ));
                }
            }
            Cmd::FindText => {
                if let Some(v) = &self.viewer {
                    self.writes += 1;
                    self.worker.ask(Request::FindText(v.series_uid.clone()));
                }
            }
            Cmd::RemoveMask { id, template } => {
                self.writes += 1;
                self.worker.ask(Request::RemoveMask { id, template });
            }
            Cmd::Review(c) => {
                if let Some((uid, title)) = self.review.handle(c) {
                    self.open_for_review(uid, title);
                }
            }
            Cmd::CohortSeries(spec) => {
                if self.grid.wants(&spec) {
                    self.worker.ask(Request::CohortSeries(spec));
                }
            }
        }
    }

    /// The review looks at what the export writes.
    fn open_for_review(&mut self, uid: String, title: String) {
        self.open(uid, title);
        if let Some(v) = &mut self.viewer {
            v.deid = true;
        }
    }

    fn open(&mut self, uid: String, title: String) {
        if self.viewer.as_ref().is_some_and(|v| v.series_uid == uid) {
            return;
        }
        // The view (original or de-identified) and the mode carry over;
        // the window is the new series' own.
        let mut v = Viewer::new(uid.clone(), title);
        if let Some(old) = &self.viewer {
            v.deid = old.deid;
            v.mode = old.mode;
        }
        self.viewer = Some(v);
        self.worker.ask(Request::Open(uid));
    }
}
