//! Series thumbnails for the tables and grids: a small pool of threads
//! asks the engine (which decodes, or reads the workspace's disk cache);
//! only what is on screen is asked for, the newest request first, with a
//! bounded queue; textures are uploaded on the UI thread and kept in a
//! bounded cache (the least recently drawn are dropped first).

use eframe::egui;
use pacs_cohort::thumbs::ThumbOutcome;
use pacs_cohort::Engine;
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

/// The longer side of a thumbnail, in pixels.
pub const THUMB_PX: u32 = 96;
/// Threads decoding thumbnails (the machine also runs the UI and maybe an
/// index job).
const THREADS: usize = 2;
/// Requests waiting at most; older ones are dropped (they scrolled away).
const QUEUE: usize = 64;
/// Textures kept at most.
const TEXTURES: usize = 400;

/// What a cell shows for a series.
pub enum Thumb<'a> {
    /// Asked for, not answered yet.
    Loading,
    Image(&'a egui::TextureHandle),
    /// (transfer syntax, reason).
    Placeholder(&'a str, &'a str),
}

enum Entry {
    Image(egui::TextureHandle),
    Placeholder(String, String),
}

struct Queue {
    /// Newest at the back: workers take from the back.
    waiting: VecDeque<String>,
    closed: bool,
}

/// The pool and the texture cache.
pub struct Thumbs {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    rx: Receiver<(String, Result<ThumbOutcome, String>)>,
    entries: HashMap<String, (Entry, u64)>,
    /// Asked for and not answered (and not dropped from the queue).
    pending: HashMap<String, u64>,
    /// Frame counter for the least-recently-drawn order.
    frame: u64,
    /// Series asked for during this frame's layout.
    wanted: Vec<String>,
}

impl Thumbs {
    pub fn spawn(engine: Engine, wake: Arc<dyn Fn() + Send + Sync>) -> Thumbs {
        let queue = Arc::new((
            Mutex::new(Queue {
                waiting: VecDeque::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let (tx, rx) = channel();
        for i in 0..THREADS {
            let (queue, tx, engine, wake): (_, Sender<_>, _, _) =
                (queue.clone(), tx.clone(), engine.clone(), wake.clone());
            let _ = std::thread::Builder::new()
                .name(format!("pacs-gui-thumbs-{i}"))
                .spawn(move || loop {
                    let uid = {
                        let (lock, cv) = &*queue;
                        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            if q.closed {
                                return;
                            }
                            if let Some(uid) = q.waiting.pop_back() {
                                break uid;
                            }
                            q = cv.wait(q).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    let t = engine
                        .series_thumbnail(&uid, THUMB_PX)
                        .map_err(|e| e.to_string());
                    if tx.send((uid, t)).is_err() {
                        return;
                    }
                    wake();
                });
        }
        Thumbs {
            queue,
            rx,
            entries: HashMap::new(),
            pending: HashMap::new(),
            frame: 0,
            wanted: Vec::new(),
        }
    }

    /// What to draw for a series; asks for it when it is not there (only
    /// cells being drawn call this, so only visible rows are asked for).
    pub fn get(&mut self, series_uid: &str) -> Thumb<'_> {
        let frame = self.frame;
        if !self.entries.contains_key(series_uid) {
            if !self.pending.contains_key(series_uid) {
                self.wanted.push(series_uid.to_string());
            }
            return Thumb::Loading;
        }
        let (entry, seen) = self.entries.get_mut(series_uid).expect("checked");
        *seen = frame;
        match entry {
            Entry::Image(t) => Thumb::Image(t),
            Entry::Placeholder(ts, reason) => Thumb::Placeholder(ts, reason),
        }
    }

    /// Whether anything is asked for and not answered.
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Forgets every thumbnail (the index changed).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Once per frame, after layout: queues what was asked for (newest
    /// last, so taken first), uploads finished thumbnails within the
    /// deadline and trims the texture cache.
    pub fn end_frame(&mut self, ctx: &egui::Context, deadline: std::time::Instant) {
        self.frame += 1;
        if !self.wanted.is_empty() {
            let (lock, cv) = &*self.queue;
            let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
            for uid in self.wanted.drain(..) {
                // Asked again (scrolled back): move it to the front.
                q.waiting.retain(|u| u != &uid);
                q.waiting.push_back(uid.clone());
                self.pending.insert(uid, self.frame);
            }
            while q.waiting.len() > QUEUE {
                if let Some(old) = q.waiting.pop_front() {
                    // Dropped unanswered: asked again when drawn again.
                    self.pending.remove(&old);
                }
            }
            cv.notify_all();
        }
        while std::time::Instant::now() < deadline {
            let Ok((uid, outcome)) = self.rx.try_recv() else {
                break;
            };
            self.pending.remove(&uid);
            let entry = match outcome {
                Ok(ThumbOutcome::Image(t)) => {
                    let image = egui::ColorImage::from_rgba_unmultiplied(
                        [t.width as usize, t.height as usize],
                        &t.rgba,
                    );
                    Entry::Image(ctx.load_texture("thumb", image, egui::TextureOptions::LINEAR))
                }
                Ok(ThumbOutcome::Placeholder {
                    transfer_syntax,
                    reason,
                }) => Entry::Placeholder(transfer_syntax, reason),
                Err(e) => Entry::Placeholder(String::new(), e),
            };
            self.entries.insert(uid, (entry, self.frame));
        }
        if self.entries.len() > TEXTURES {
            let mut by_age: Vec<(u64, String)> = self
                .entries
                .iter()
                .map(|(k, (_, seen))| (*seen, k.clone()))
                .collect();
            by_age.sort();
            for (_, k) in by_age.iter().take(self.entries.len() - TEXTURES) {
                self.entries.remove(k);
            }
        }
    }
}

impl Drop for Thumbs {
    fn drop(&mut self) {
        let (lock, cv) = &*self.queue;
        lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        cv.notify_all();
    }
}

/// Draws a thumbnail (or its placeholder) into a `size` square; returns
/// the response (hover shows a placeholder's reason).
pub fn draw(ui: &mut egui::Ui, thumb: Thumb, size: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::click());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 2.0, egui::Color32::BLACK);
    match thumb {
        Thumb::Image(t) => {
            let [w, h] = t.size().map(|v| v as f32);
            let scale = (size / w.max(h)).min(size);
            let r = egui::Rect::from_center_size(rect.center(), egui::vec2(w, h) * scale);
            painter.image(
                t.id(),
                r,
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                egui::Color32::WHITE,
            );
            response
        }
        Thumb::Loading => {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "…",
                egui::FontId::proportional(14.0),
                visuals.weak_text_color(),
            );
            response
        }
        Thumb::Placeholder(ts, reason) => {
            painter.rect_filled(rect, 2.0, visuals.extreme_bg_color);
            let font = egui::FontId::proportional((size / 8.0).clamp(8.0, 11.0));
            let galley = painter.layout(
                if ts.is_empty() {
                    "not shown".to_string()
                } else {
                    ts.to_string()
                },
                font,
                visuals.warn_fg_color,
                size - 6.0,
            );
            painter.galley(
                rect.min + egui::vec2(3.0, 3.0),
                galley,
                visuals.warn_fg_color,
            );
            let text = if ts.is_empty() {
                reason.to_string()
            } else {
                format!("{ts}: {reason}")
            };
            // Screen readers (and tests) get the reason too.
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, &text)
            });
            response.on_hover_text(text)
        }
    }
}
