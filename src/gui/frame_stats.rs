//! Optional frame-time recording for the frame-time benchmark: with
//! `PACS_COHORT_FRAME_STATS=FILE`, the time spent in each frame's UI code and
//! the interval between frames are written to FILE as JSON on exit.

use std::time::Instant;

#[derive(Default)]
pub struct FrameStats {
    path: Option<std::path::PathBuf>,
    ui_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    interval_ms: Vec<f64>,
    last_frame: Option<Instant>,
    started: Option<Instant>,
}

impl FrameStats {
    pub fn from_env() -> Self {
        FrameStats {
            path: std::env::var_os("PACS_COHORT_FRAME_STATS").map(Into::into),
            ..Default::default()
        }
    }

    pub fn enabled(&self) -> bool {
        self.path.is_some()
    }

    pub fn begin(&mut self) {
        if !self.enabled() {
            return;
        }
        let now = Instant::now();
        if let Some(last) = self.last_frame {
            self.interval_ms
                .push(now.duration_since(last).as_secs_f64() * 1e3);
        }
        self.last_frame = Some(now);
        self.started = Some(now);
    }

    /// eframe's measure of the previous frame: UI code plus tessellation
    /// and rendering, without waiting for vsync/present.
    pub fn previous_frame_cpu(&mut self, seconds: Option<f32>) {
        if let (true, Some(s)) = (self.enabled(), seconds) {
            self.cpu_ms.push(s as f64 * 1e3);
        }
    }

    pub fn end(&mut self) {
        if let Some(s) = self.started.take() {
            self.ui_ms.push(s.elapsed().as_secs_f64() * 1e3);
            // Also written periodically, for runs that are killed.
            if self.ui_ms.len().is_multiple_of(120) {
                self.write();
            }
        }
    }

    pub fn write(&self) {
        let Some(path) = &self.path else { return };
        let summary = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(|a, b| a.total_cmp(b));
            let pct = |p: f64| {
                s.get(((s.len() as f64 - 1.0) * p).round() as usize)
                    .copied()
                    .unwrap_or(0.0)
            };
            serde_json::json!({"frames": s.len(), "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)})
        };
        let json = serde_json::json!({
            "ui_ms": summary(&self.ui_ms),
            "frame_cpu_ms": summary(&self.cpu_ms),
            "interval_ms": summary(&self.interval_ms),
        });
        pacs_cohort::engine::write_in_background(path.clone(), json.to_string().into_bytes());
    }
}
