//! The builder's value fields: list criteria pick from the values present
//! in the index (with their counts, searchable, several at once); ranges
//! and dates are typed and refused at once when they are not valid (the
//! draft, and so the counts, keep the last valid value).

use eframe::egui;
use pacs_cohort::model::{DateRange, NumRange, ValueCount, ValueField};
use std::collections::HashMap;

/// What the value fields need from the app: the values listed so far, how
/// to show counts, and the fields to ask the query worker for.
pub(super) struct Pickers<'a> {
    pub lists: &'a HashMap<ValueField, Result<Vec<ValueCount>, String>>,
    /// 1..threshold is marked (exact view) or hidden (aggregate-only).
    pub threshold: u64,
    pub aggregate_only: bool,
    pub error_color: egui::Color32,
    /// Fields whose values a shown picker needs and that are not listed.
    pub ask: Vec<ValueField>,
}

impl Pickers<'_> {
    fn count(&self, n: u64) -> String {
        if self.aggregate_only && (1..=self.threshold).contains(&n) {
            pacs_cohort::privacy::hidden_label(self.threshold)
        } else {
            super::cell(n, self.threshold)
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// "Modality is one of [CT, MR ▾]": a combo whose popup lists the index's
/// values with checkboxes and a filter box, and can add a value not (yet)
/// in the index.
pub(super) fn list(
    ui: &mut egui::Ui,
    label: &str,
    field: Option<ValueField>,
    values: &mut Vec<String>,
    px: &mut Pickers,
) {
    ui.horizontal_wrapped(|ui| {
        let caption = ui.label(format!("{label} is one of"));
        let chosen: Vec<String> = values
            .iter()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        let shown = if chosen.is_empty() {
            "choose…".to_string()
        } else {
            let all = chosen.join(", ");
            if all.chars().count() > 40 {
                format!("{} values", chosen.len())
            } else {
                all
            }
        };
        // Asked as soon as the rule shows, so the list is there when the
        // popup opens (a popup keeps the size of its first frame).
        if let Some(f) = field.as_ref().filter(|f| !px.lists.contains_key(*f)) {
            px.ask.push(f.clone());
        }
        let filter_id = ui.make_persistent_id("filter");
        let combo = egui::ComboBox::from_id_salt("values")
            .selected_text(shown)
            .width(220.0)
            .height(320.0)
            .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
            .show_ui(ui, |ui| {
                ui.set_min_width(260.0);
                popup(ui, label, field.as_ref(), values, px, filter_id);
            });
        combo.response.labelled_by(caption.id);
        if chosen.is_empty() {
            ui.colored_label(px.error_color, "choose at least one value");
        }
    });
}

fn popup(
    ui: &mut egui::Ui,
    label: &str,
    field: Option<&ValueField>,
    values: &mut Vec<String>,
    px: &mut Pickers,
    filter_id: egui::Id,
) {
    let mut filter: String = ui.data(|d| d.get_temp(filter_id)).unwrap_or_default();
    let edit = ui.add(
        egui::TextEdit::singleline(&mut filter)
            .hint_text(format!("filter {}", label.to_lowercase()))
            .desired_width(f32::INFINITY),
    );
    if edit.changed() {
        ui.data_mut(|d| d.insert_temp(filter_id, filter.clone()));
    }
    let wanted = filter.trim().to_lowercase();
    let matches = |v: &str| wanted.is_empty() || v.to_lowercase().contains(&wanted);
    let listed: &[ValueCount] = match field.map(|f| (f, px.lists.get(f))) {
        None => &[],
        Some((_, None)) => {
            ui.set_min_height(200.0);
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("listing the values in the index…");
            });
            &[]
        }
        Some((_, Some(Err(e)))) => {
            ui.colored_label(px.error_color, e);
            &[]
        }
        Some((_, Some(Ok(list)))) => list,
    };
    if field.is_some() && !listed.is_empty() {
        ui.label(egui::RichText::new("studies with each value in the index").weak());
    }
    // The combo's own popup scrolls (a scroll area nested in it would
    // keep the height of the first frame, before the values arrived).
    ui.scope(|ui| {
        for v in listed.iter().filter(|v| matches(&v.value)) {
            let mut on = values.iter().any(|x| same(x, &v.value));
            let text = format!("{} ({})", v.value, px.count(v.count));
            if ui.checkbox(&mut on, text).changed() {
                if on {
                    values.retain(|x| !x.trim().is_empty());
                    values.push(v.value.clone());
                } else {
                    values.retain(|x| !same(x, &v.value));
                }
            }
        }
        // Chosen values the index does not have (typed, or from JSON).
        let absent: Vec<String> = values
            .iter()
            .filter(|x| !x.trim().is_empty() && !listed.iter().any(|v| same(x, &v.value)))
            .cloned()
            .collect();
        for x in absent.iter().filter(|x| matches(x)) {
            let mut on = true;
            if ui
                .checkbox(&mut on, format!("{x} (not in the index)"))
                .changed()
                && !on
            {
                values.retain(|y| !same(y, x));
            }
        }
    });
    let typed = filter.trim();
    if !typed.is_empty()
        && !values.iter().any(|x| same(x, typed))
        && !listed.iter().any(|v| same(&v.value, typed))
        && ui.button(format!("Add \"{typed}\"")).clicked()
    {
        values.retain(|x| !x.trim().is_empty());
        values.push(typed.to_string());
    }
    if !values.is_empty() && ui.small_button("Clear the choice").clicked() {
        values.clear();
    }
}

/// The text of a bound as typed, kept across frames while it is not valid.
#[derive(Clone, Default)]
struct Typed<T> {
    /// The draft's value these texts were last in step with.
    synced: T,
    texts: [String; 2],
}

fn num_text(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn parse_num(t: &str) -> Result<Option<f64>, String> {
    let t = t.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!("'{t}' is not a number")),
    }
}

/// Two typed bounds: (from, to). Returns the error to show, if any; the
/// draft only takes values that are valid together.
fn bounds<T: Clone + PartialEq + Send + Sync + 'static>(
    ui: &mut egui::Ui,
    current: T,
    to_texts: impl Fn(&T) -> [String; 2],
    parse: impl Fn(&[String; 2]) -> Result<T, String>,
    names: [&str; 2],
    hint: &str,
    width: f32,
) -> (Option<T>, Option<String>) {
    let key = ui.make_persistent_id("typed");
    let mut st: Typed<T> = ui.data(|d| d.get_temp(key)).unwrap_or(Typed {
        synced: current.clone(),
        texts: to_texts(&current),
    });
    // Changed elsewhere (JSON, another cohort opened): show the new value.
    if st.synced != current {
        st.texts = to_texts(&current);
        st.synced = current.clone();
    }
    for (i, name) in names.iter().enumerate() {
        let label = ui.label(*name);
        ui.add(
            egui::TextEdit::singleline(&mut st.texts[i])
                .hint_text(hint)
                .desired_width(width),
        )
        .labelled_by(label.id);
    }
    let (new, error) = match parse(&st.texts) {
        Ok(v) if v != current => (Some(v), None),
        Ok(_) => (None, None),
        Err(e) => (None, Some(e)),
    };
    if let Some(v) = &new {
        st.synced = v.clone();
    }
    ui.data_mut(|d| d.insert_temp(key, st));
    (new, error)
}

fn refused(ui: &mut egui::Ui, color: egui::Color32, e: Option<String>) {
    if let Some(e) = e {
        ui.colored_label(color, format!("{e}: not counted"))
            .on_hover_text("The counts use the last valid value until this is corrected");
    }
}

/// A numeric range, typed: "abc" or from > to is refused at once.
pub(super) fn range(
    ui: &mut egui::Ui,
    label: &str,
    names: [&str; 2],
    r: &mut NumRange,
    color: egui::Color32,
) {
    ui.horizontal_wrapped(|ui| {
        ui.label(label);
        let (new, e) = bounds(
            ui,
            (r.min, r.max),
            |(a, b)| [num_text(*a), num_text(*b)],
            |t| {
                let (a, b) = (parse_num(&t[0])?, parse_num(&t[1])?);
                match (a, b) {
                    (Some(a), Some(b)) if a > b => Err(format!("{a} is above {b}")),
                    (None, None) => Err("give a minimum, a maximum or both".into()),
                    _ => Ok((a, b)),
                }
            },
            names,
            "any",
            64.0,
        );
        if let Some((a, b)) = new {
            r.min = a;
            r.max = b;
        }
        refused(ui, color, e);
    });
}

/// Study dates, typed YYYY-MM-DD: "2020-13-45" or from after to is refused
/// at once.
pub(super) fn dates(ui: &mut egui::Ui, r: &mut DateRange, color: egui::Color32) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Study date");
        let parse_date = |t: &str| -> Result<Option<String>, String> {
            let t = t.trim();
            if t.is_empty() {
                Ok(None)
            } else if pacs_cohort::cohort::valid_date(t) {
                Ok(Some(t.to_string()))
            } else {
                Err(format!("'{t}' is not a date (YYYY-MM-DD)"))
            }
        };
        let (new, e) = bounds(
            ui,
            (r.from.clone(), r.to.clone()),
            |(a, b)| [a.clone().unwrap_or_default(), b.clone().unwrap_or_default()],
            |t| {
                let (a, b) = (parse_date(&t[0])?, parse_date(&t[1])?);
                match (&a, &b) {
                    (Some(x), Some(y)) if x > y => Err(format!("{x} is after {y}")),
                    (None, None) => Err("give a start date, an end date or both".into()),
                    _ => Ok((a, b)),
                }
            },
            ["from", "to"],
            "YYYY-MM-DD",
            96.0,
        );
        if let Some((a, b)) = new {
            r.from = a;
            r.to = b;
        }
        refused(ui, color, e);
    });
}
