//! The viewer's layout and input: toolbar, the image with window, zoom,
//! pan and the value under the cursor, and mask rectangles drawn, moved,
//! resized and deleted with the mouse. Writes are pushed as commands.

use super::viewer::{MaskDrag, Mode, Viewer};
use super::Cmd;
use eframe::egui;
use pacs_cohort::preview::PRESETS;

/// Corner handles' half size, in screen points.
const HANDLE: f32 = 5.0;

/// The viewer as a window over the app (opened from a series list).
pub fn window(ctx: &egui::Context, viewer: Option<&mut Viewer>, keys: bool, out: &mut Vec<Cmd>) {
    let Some(v) = viewer else { return };
    let mut open = true;
    let title = format!("Viewer: {}", v.title);
    egui::Window::new(title)
        .id(egui::Id::unique("viewer_window"))
        .open(&mut open)
        .default_size([900.0, 640.0])
        .min_size([420.0, 320.0])
        .resizable(true)
        .collapsible(false)
        .show(ctx, |ui| show(ui, v, keys, out));
    if !open {
        out.push(Cmd::CloseViewer);
    }
}

/// The viewer inside `ui` (the window, or the review tab). `keys`: this
/// viewer takes the keyboard shortcuts.
pub fn show(ui: &mut egui::Ui, v: &mut Viewer, keys: bool, out: &mut Vec<Cmd>) {
    if keys && !ui.ctx().text_edit_focused() {
        shortcuts(ui.ctx(), v, out);
    }
    toolbar(ui, v, out);
    match &v.instances {
        None => {
            ui.label("Listing the series' images…");
            return;
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e.clone());
            return;
        }
        Some(Ok(list)) if list.is_empty() => {
            ui.label("This series has no indexed images.");
            return;
        }
        Some(Ok(_)) => {}
    }
    egui::Panel::bottom("viewer_masks")
        .resizable(false)
        .show(ui, |ui| masks_bar(ui, v, out));
    egui::CentralPanel::default().show(ui, |ui| image(ui, v, out));
}

fn shortcuts(ctx: &egui::Context, v: &mut Viewer, out: &mut Vec<Cmd>) {
    use egui::{Key, Modifiers};
    let mut step = 0i64;
    ctx.input_mut(|i| {
        for (key, by) in [
            (Key::ArrowDown, 1),
            (Key::ArrowRight, 1),
            (Key::ArrowUp, -1),
            (Key::ArrowLeft, -1),
            (Key::PageDown, 10),
            (Key::PageUp, -10),
            (Key::Home, i64::MIN / 2),
            (Key::End, i64::MAX / 2),
        ] {
            if i.consume_key(Modifiers::NONE, key) {
                step = step.saturating_add(by);
            }
        }
        if i.consume_key(Modifiers::NONE, Key::F) {
            v.zoom = None;
            v.pan = egui::Vec2::ZERO;
        }
        if i.consume_key(Modifiers::NONE, Key::D) {
            v.deid = !v.deid;
        }
        if i.consume_key(Modifiers::NONE, Key::M) {
            v.mode = if v.mode == Mode::Mask {
                Mode::Pan
            } else {
                Mode::Mask
            };
        }
        for (key, factor) in [(Key::Plus, 1.25), (Key::Equals, 1.25), (Key::Minus, 0.8)] {
            if i.consume_key(Modifiers::NONE, key) || i.consume_key(Modifiers::SHIFT, key) {
                v.zoom = Some(v.zoom.unwrap_or(fit_scale_guess(v)) * factor);
            }
        }
        if i.consume_key(Modifiers::NONE, Key::Delete)
            || i.consume_key(Modifiers::NONE, Key::Backspace)
        {
            if let Some(s) = v.selected.take() {
                if s < v.drafts.len() {
                    v.drafts.remove(s);
                }
            }
        }
    });
    if step != 0 {
        v.step(step);
    }
    let _ = out;
}

/// The scale zooming starts from: the current one (fit: as last drawn).
fn fit_scale_guess(v: &Viewer) -> f32 {
    v.zoom.unwrap_or(v.fit)
}

fn toolbar(ui: &mut egui::Ui, v: &mut Viewer, out: &mut Vec<Cmd>) {
    ui.horizontal_wrapped(|ui| {
        let n = v.images().len();
        let frames = v.current().map(|i| i.frames.max(1)).unwrap_or(1);
        ui.strong(if n == 0 {
            "no image".to_string()
        } else {
            format!("Image {} / {n}", v.index + 1)
        });
        if frames > 1 {
            ui.label(format!("frame {} / {frames}", v.frame + 1));
        }
        ui.separator();
        ui.selectable_value(&mut v.deid, false, "Original")
            .on_hover_text("The source image as stored (D toggles)");
        ui.selectable_value(&mut v.deid, true, "De-identified")
            .on_hover_text(
                "The image exactly as the export writes it, masks burned in (D toggles)",
            );
        ui.separator();
        ui.selectable_value(&mut v.mode, Mode::Pan, "Pan")
            .on_hover_text("Left-drag pans; middle-drag always pans");
        ui.selectable_value(&mut v.mode, Mode::Mask, "Draw masks")
            .on_hover_text("Left-drag draws a black-out rectangle; drag one to move it, its corners to resize it; Del removes the selected one (M toggles)");
        ui.separator();
        let header = match v.decoded() {
            Some(Ok((f, _))) => f.header_window,
            _ => None,
        };
        ui.menu_button(format!("W/L: {}", v.preset), |ui| {
                for (name, w) in PRESETS {
                    if ui.selectable_label(v.preset == name, name).clicked() {
                        v.window = Some(w);
                        v.preset = name.into();
                    }
                }
                let label = if header.is_some() {
                    "from file"
                } else {
                    "from file (none: full range)"
                };
                if ui.selectable_label(v.preset == "from file", label).clicked() {
                    // The header's window, else the values' range: the
                    // first window again.
                    v.window = None;
                    v.preset = "from file".into();
                }
            });
        if let Some(w) = v.window {
            ui.label(format!("C {:.0} W {:.0}", w.center, w.width))
                .on_hover_text("Right-drag: horizontal changes the width, vertical the center");
        }
        ui.separator();
        if ui
            .button("Fit")
            .on_hover_text("Fit the image to the view (F); Ctrl+wheel or +/- zoom")
            .clicked()
        {
            v.zoom = None;
            v.pan = egui::Vec2::ZERO;
        }
        let _ = out;
    });
}

fn masks_bar(ui: &mut egui::Ui, v: &mut Viewer, out: &mut Vec<Cmd>) {
    let device = match v.decoded() {
        Some(Ok((_, facts))) => Some(facts.device.clone()),
        _ => None,
    };
    let (own, templates) = v.stored_masks(device.as_ref());
    let own: Vec<(i64, String)> = own
        .iter()
        .map(|m| {
            (
                m.id,
                format!(
                    "{},{} {}x{}",
                    m.rect.x, m.rect.y, m.rect.width, m.rect.height
                ),
            )
        })
        .collect();
    let templates: Vec<(i64, String)> = templates
        .iter()
        .map(|t| {
            (
                t.id,
                format!(
                    "'{}' {},{} {}x{}",
                    t.name, t.rect.x, t.rect.y, t.rect.width, t.rect.height
                ),
            )
        })
        .collect();
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("{} new rectangles", v.drafts.len()));
        let drafts = !v.drafts.is_empty();
        if ui
            .add_enabled(drafts, egui::Button::new("Apply to this image"))
            .clicked()
        {
            out.push(Cmd::ApplyMasks { series: false });
        }
        if ui
            .add_enabled(
                drafts,
                egui::Button::new("Apply to every image of the series"),
            )
            .clicked()
        {
            out.push(Cmd::ApplyMasks { series: true });
        }
        let label = ui.label("Template");
        ui.add(
            egui::TextEdit::singleline(&mut v.template_name)
                .hint_text("name")
                .desired_width(110.0),
        )
        .labelled_by(label.id);
        let can_template = drafts && device.is_some() && !v.template_name.trim().is_empty();
        let hover = match &device {
            Some(d) => format!(
                "Every image of {} {} at {}x{} gets these rectangles",
                if d.manufacturer.is_empty() {
                    "(no manufacturer)"
                } else {
                    &d.manufacturer
                },
                if d.model.is_empty() {
                    "(no model)"
                } else {
                    &d.model
                },
                d.columns,
                d.rows
            ),
            None => "Waiting for the image".into(),
        };
        if ui
            .add_enabled(can_template, egui::Button::new("Save as template"))
            .on_hover_text(hover)
            .on_disabled_hover_text("Draw rectangles and name the template first")
            .clicked()
        {
            out.push(Cmd::SaveTemplate);
        }
        if ui
            .button("Find text")
            .on_hover_text("Propose rectangles where the burned-in text detector finds text-like regions (in the series' middle image)")
            .clicked()
        {
            out.push(Cmd::FindText);
        }
        // Always there (disabled without drafts): the image does not jump
        // when the first rectangle is drawn.
        if ui
            .add_enabled(drafts, egui::Button::new("Discard new"))
            .clicked()
        {
            v.drafts.clear();
            v.selected = None;
        }
    });
    if !own.is_empty() || !templates.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label("Recorded:");
            for (id, text) in own {
                ui.label(egui::RichText::new(format!("mask {text}")).color(MASK_COLOR));
                if ui.small_button("remove").clicked() {
                    out.push(Cmd::RemoveMask { id, template: false });
                }
            }
            for (id, text) in templates {
                ui.label(egui::RichText::new(format!("template {text}")).color(TEMPLATE_COLOR))
                    .on_hover_text("A template rectangle (from the CLI or this viewer): applied to every image of this device and size");
                if ui.small_button("remove").clicked() {
                    out.push(Cmd::RemoveMask { id, template: true });
                }
            }
        });
    }
    match &v.message {
        Some(Ok(m)) => {
            ui.label(egui::RichText::new(m).weak());
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {
            ui.label(
                egui::RichText::new(
                    "Rectangles are in image pixels; the export fills them in every frame.",
                )
                .weak(),
            );
        }
    }
}

const MASK_COLOR: egui::Color32 = egui::Color32::from_rgb(230, 80, 80);
const TEMPLATE_COLOR: egui::Color32 = egui::Color32::from_rgb(230, 150, 60);
const DRAFT_COLOR: egui::Color32 = egui::Color32::from_rgb(250, 220, 60);

fn image(ui: &mut egui::Ui, v: &mut Viewer, out: &mut Vec<Cmd>) {
    let _ = out;
    let (area, response) =
        ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
    let painter = ui.painter_at(area);
    painter.rect_filled(area, 0.0, egui::Color32::BLACK);
    let decoded = v.decoded().cloned();
    let (frame, facts) = match decoded {
        None => {
            painter.text(
                area.center(),
                egui::Align2::CENTER_CENTER,
                if v.deid {
                    "Rendering as the export writes it…"
                } else {
                    "Decoding…"
                },
                egui::FontId::proportional(16.0),
                egui::Color32::GRAY,
            );
            return;
        }
        Some(Err(reason)) => {
            let ts = v
                .current()
                .map(|i| pacs_cohort::thumbs::transfer_syntax_name(&i.transfer_syntax))
                .unwrap_or_default();
            let text = format!("This image cannot be shown\n{ts}\n{reason}");
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::accesskit::Role::Image, true, &text)
            });
            let galley = painter.layout(
                text,
                egui::FontId::proportional(15.0),
                egui::Color32::from_rgb(240, 190, 90),
                (area.width() - 40.0).max(100.0),
            );
            let pos = area.center() - galley.size() / 2.0;
            painter.galley(pos, galley, egui::Color32::WHITE);
            wheel_and_zoom(ui, v, &response, area, None);
            return;
        }
        Some(Ok(d)) => d,
    };
    let size = egui::vec2(frame.columns as f32, frame.rows as f32);
    let fit = (area.width() / size.x).min(area.height() / size.y);
    v.fit = fit;
    let scale = v.zoom.unwrap_or(fit);
    let img_rect = egui::Rect::from_center_size(area.center() + v.pan, size * scale);
    v.image_rect = Some(img_rect);
    if let Some(t) = v.texture(ui.ctx()) {
        painter.image(
            t.id(),
            img_rect,
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            egui::Color32::WHITE,
        );
    }
    let to_screen = |p: egui::Pos2| img_rect.min + (p.to_vec2() * scale);
    let to_image = |p: egui::Pos2| ((p - img_rect.min) / scale).to_pos2();
    // Recorded masks and templates of this image, then the drafts.
    let (own, templates) = v.stored_masks(Some(&facts.device));
    for (r, color) in own
        .iter()
        .map(|m| (m.rect, MASK_COLOR))
        .chain(templates.iter().map(|t| (t.rect, TEMPLATE_COLOR)))
    {
        let sr = egui::Rect::from_min_max(
            to_screen(egui::pos2(r.x as f32, r.y as f32)),
            to_screen(egui::pos2((r.x + r.width) as f32, (r.y + r.height) as f32)),
        );
        painter.rect_stroke(
            sr,
            0.0,
            egui::Stroke::new(1.5, color),
            egui::StrokeKind::Inside,
        );
    }
    for (i, r) in v.drafts.iter().enumerate() {
        let sr = egui::Rect::from_min_max(to_screen(r.min), to_screen(r.max));
        painter.rect_filled(sr, 0.0, egui::Color32::from_black_alpha(160));
        let selected = v.selected == Some(i);
        painter.rect_stroke(
            sr,
            0.0,
            egui::Stroke::new(if selected { 2.5 } else { 1.5 }, DRAFT_COLOR),
            egui::StrokeKind::Inside,
        );
        if selected {
            for c in corners(sr) {
                painter.rect_filled(
                    egui::Rect::from_center_size(c, egui::vec2(HANDLE * 2.0, HANDLE * 2.0)),
                    0.0,
                    DRAFT_COLOR,
                );
            }
        }
    }
    // Window: right-drag.
    if response.dragged_by(egui::PointerButton::Secondary) {
        v.drag_window(response.drag_delta());
    }
    // Pan: middle-drag, or left-drag in pan mode.
    if response.dragged_by(egui::PointerButton::Middle)
        || (v.mode == Mode::Pan && response.dragged_by(egui::PointerButton::Primary))
    {
        if v.zoom.is_none() {
            v.zoom = Some(fit);
        }
        v.pan += response.drag_delta();
    }
    if v.mode == Mode::Mask {
        mask_input(v, &response, img_rect, scale, size);
    }
    wheel_and_zoom(ui, v, &response, area, Some((fit, img_rect)));
    // The value under the cursor.
    if let Some(p) = response.hover_pos() {
        let ip = to_image(p);
        if ip.x >= 0.0 && ip.y >= 0.0 && ip.x < size.x && ip.y < size.y {
            let (x, y) = (ip.x as usize, ip.y as usize);
            let i = y * frame.columns as usize + x;
            let text = if frame.samples == 3 {
                let px = &frame.values[i * 3..i * 3 + 3];
                format!("x {x} y {y}  RGB {} {} {}", px[0], px[1], px[2])
            } else {
                let value = f64::from(frame.values[i]);
                let stored = (value - facts.intercept) / facts.slope;
                if facts.modality == "CT" {
                    format!("x {x} y {y}  stored {stored:.0}  HU {value:.0}")
                } else if facts.slope != 1.0 || facts.intercept != 0.0 {
                    format!("x {x} y {y}  stored {stored:.0}  value {value:.2}")
                } else {
                    format!("x {x} y {y}  value {stored:.0}")
                }
            };
            overlay(
                &painter,
                area.left_bottom() + egui::vec2(6.0, -6.0),
                egui::Align2::LEFT_BOTTOM,
                &text,
            );
        }
    }
    let frames = v.current().map(|i| i.frames.max(1)).unwrap_or(1);
    let mut info = format!(
        "{}  {} x {}  {}\n{}",
        if v.deid {
            "DE-IDENTIFIED (as exported)"
        } else {
            "ORIGINAL"
        },
        frame.columns,
        frame.rows,
        facts.photometric,
        facts.transfer_syntax
    );
    if frames > 1 {
        info = format!("frame {} / {frames}   {info}", v.frame + 1);
    }
    overlay(
        &painter,
        area.left_top() + egui::vec2(6.0, 6.0),
        egui::Align2::LEFT_TOP,
        &info,
    );
    if let Some(w) = v.window {
        overlay(
            &painter,
            area.right_bottom() + egui::vec2(-6.0, -6.0),
            egui::Align2::RIGHT_BOTTOM,
            &format!(
                "C {:.0}  W {:.0}  zoom {:.0}%",
                w.center,
                w.width,
                scale * 100.0
            ),
        );
    }
}

/// Text with a dark backing, readable on any image.
fn overlay(painter: &egui::Painter, pos: egui::Pos2, align: egui::Align2, text: &str) {
    let galley = painter.layout_no_wrap(
        text.to_string(),
        egui::FontId::monospace(12.0),
        egui::Color32::from_gray(235),
    );
    let rect = align.anchor_size(pos, galley.size());
    painter.rect_filled(rect.expand(3.0), 2.0, egui::Color32::from_black_alpha(170));
    painter.galley(rect.min, galley, egui::Color32::WHITE);
}

fn corners(r: egui::Rect) -> [egui::Pos2; 4] {
    [
        r.left_top(),
        r.right_top(),
        r.right_bottom(),
        r.left_bottom(),
    ]
}

fn mask_input(
    v: &mut Viewer,
    response: &egui::Response,
    img_rect: egui::Rect,
    scale: f32,
    size: egui::Vec2,
) {
    let to_image = |p: egui::Pos2| ((p - img_rect.min) / scale).to_pos2();
    let to_screen = |p: egui::Pos2| img_rect.min + (p.to_vec2() * scale);
    let bounds = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    if response.drag_started_by(egui::PointerButton::Primary) {
        // Where the button went down (the drag is recognised a few points
        // later).
        let Some(start) = response
            .ctx
            .input(|i| i.pointer.press_origin())
            .or(response.interact_pointer_pos())
        else {
            return;
        };
        let hit_handle = v.selected.and_then(|s| {
            let r = v.drafts.get(s)?;
            let sr = egui::Rect::from_min_max(to_screen(r.min), to_screen(r.max));
            corners(sr)
                .iter()
                .position(|c| c.distance(start) <= HANDLE * 1.6)
                .map(|c| MaskDrag::Resize(s, c as u8))
        });
        let hit_body = || {
            v.drafts
                .iter()
                .rposition(|r| r.contains(to_image(start)))
                .map(MaskDrag::Move)
        };
        let drag = hit_handle.or_else(hit_body).unwrap_or(MaskDrag::Draw(
            to_image(start).clamp(bounds.min, bounds.max),
        ));
        match drag {
            MaskDrag::Move(i) | MaskDrag::Resize(i, _) => v.selected = Some(i),
            MaskDrag::Draw(a) => {
                // The rectangle being drawn is the selected one.
                v.drafts.push(egui::Rect::from_min_max(a, a));
                v.selected = Some(v.drafts.len() - 1);
            }
        }
        v.drag = Some(drag);
    }
    if response.dragged_by(egui::PointerButton::Primary) {
        let now = response
            .interact_pointer_pos()
            .map(|p| to_image(p).clamp(bounds.min, bounds.max));
        let d = response.drag_delta() / scale;
        match (v.drag, now) {
            (Some(MaskDrag::Draw(a)), Some(b)) => {
                if let Some(r) = v.selected.and_then(|i| v.drafts.get_mut(i)) {
                    *r = egui::Rect::from_two_pos(a, b);
                }
            }
            (Some(MaskDrag::Move(i)), _) => {
                if let Some(r) = v.drafts.get_mut(i) {
                    let mut moved = r.translate(d);
                    // Kept inside the image.
                    let shift = egui::vec2(
                        (bounds.min.x - moved.min.x).max(0.0)
                            + (bounds.max.x - moved.max.x).min(0.0),
                        (bounds.min.y - moved.min.y).max(0.0)
                            + (bounds.max.y - moved.max.y).min(0.0),
                    );
                    moved = moved.translate(shift);
                    *r = moved;
                }
            }
            (Some(MaskDrag::Resize(i, c)), Some(p)) => {
                if let Some(r) = v.drafts.get_mut(i) {
                    let opposite = corners(*r)[(c as usize + 2) % 4];
                    *r = egui::Rect::from_two_pos(opposite, p);
                }
            }
            _ => {}
        }
    }
    if response.drag_stopped() {
        let drag = v.drag.take();
        // Whole pixels, as they will be recorded.
        for r in &mut v.drafts {
            *r = egui::Rect::from_min_max(r.min.round(), r.max.round());
        }
        if let Some(MaskDrag::Draw(_)) = drag {
            // A click-sized rectangle is not a mask.
            v.drafts.retain(|r| r.width() >= 1.0 && r.height() >= 1.0);
            v.selected = (!v.drafts.is_empty()).then(|| v.drafts.len() - 1);
        }
    }
    if response.clicked_by(egui::PointerButton::Primary) {
        let p = response.interact_pointer_pos().map(to_image);
        v.selected = p.and_then(|p| v.drafts.iter().rposition(|r| r.contains(p)));
    }
}

fn wheel_and_zoom(
    ui: &egui::Ui,
    v: &mut Viewer,
    response: &egui::Response,
    area: egui::Rect,
    fit: Option<(f32, egui::Rect)>,
) {
    if !response.hovered() {
        return;
    }
    let (zoom, steps) = ui.input(|i| {
        let mut steps = 0.0f32;
        for e in &i.events {
            if let egui::Event::MouseWheel {
                unit,
                delta,
                modifiers,
                ..
            } = e
            {
                if modifiers.ctrl || modifiers.command {
                    continue; // zoom (below)
                }
                steps += match unit {
                    egui::MouseWheelUnit::Point => delta.y / 40.0,
                    egui::MouseWheelUnit::Line => delta.y,
                    egui::MouseWheelUnit::Page => delta.y * 10.0,
                };
            }
        }
        (i.zoom_delta(), steps)
    });
    v.wheel += steps;
    let whole = v.wheel.trunc();
    if whole != 0.0 {
        // Wheel down (content up) goes to the next image.
        v.step(-(whole as i64));
        v.wheel -= whole;
    }
    if zoom != 1.0 {
        if let Some((fit, img_rect)) = fit {
            let old = v.zoom.unwrap_or(fit);
            let new = (old * zoom).clamp(0.05, 64.0);
            // Zoom about the cursor: the image point under it stays.
            if let Some(p) = response.hover_pos() {
                let center = area.center() + v.pan;
                let rel = p - center;
                v.pan += rel - rel * (new / old);
                let _ = img_rect;
            }
            v.zoom = Some(new);
        }
    }
}
