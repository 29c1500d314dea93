//! Layout of the PACS area: nodes (echo, remove), a form to add one, the
//! harvest and the retrieval with their progress. Pushes `Cmd`s only.

use super::{Cmd, Pacs};
use eframe::egui;
use pacs_cohort::model::{HarvestQuery, PacsNode, PacsProtocol, RetrieveMethod, WebAuth};

/// The add-node form and the job settings, as typed.
#[derive(Debug, Clone)]
pub struct Form {
    pub name: String,
    pub web: bool,
    pub ae_title: String,
    pub host: String,
    pub port: String,
    pub calling_ae: String,
    pub scp_port: String,
    pub url: String,
    pub bearer: String,
    /// The node harvested, and the filters.
    pub harvest_node: Option<String>,
    pub from: String,
    pub to: String,
    pub modalities: String,
    /// The cohort retrieved and how.
    pub cohort: Option<String>,
    pub method: RetrieveMethod,
}

impl Default for Form {
    fn default() -> Form {
        Form {
            name: String::new(),
            web: false,
            ae_title: String::new(),
            host: String::new(),
            port: "104".into(),
            calling_ae: "PACSCOHORT".into(),
            scp_port: String::new(),
            url: String::new(),
            bearer: String::new(),
            harvest_node: None,
            from: String::new(),
            to: String::new(),
            modalities: String::new(),
            cohort: None,
            method: RetrieveMethod::Get,
        }
    }
}

impl Form {
    /// The node the form describes, or what is missing.
    pub fn node(&self) -> Result<PacsNode, String> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err("give the node a name".into());
        }
        let protocol = if self.web {
            let auth = match self.bearer.trim() {
                "" => WebAuth::None,
                t => WebAuth::Bearer { token: t.into() },
            };
            PacsProtocol::Web {
                base_url: self.url.trim().trim_end_matches('/').to_string(),
                auth,
                max_results: None,
            }
        } else {
            let port = self
                .port
                .trim()
                .parse::<u16>()
                .map_err(|_| "the port is a number from 1 to 65535".to_string())?;
            let scp_port = match self.scp_port.trim() {
                "" => None,
                p => Some(
                    p.parse::<u16>()
                        .map_err(|_| "the storage SCP port is a number".to_string())?,
                ),
            };
            PacsProtocol::Dimse {
                ae_title: self.ae_title.trim().into(),
                host: self.host.trim().into(),
                port,
                calling_ae: self.calling_ae.trim().into(),
                scp_port,
                max_results: None,
            }
        };
        Ok(PacsNode { name, protocol })
    }

    fn query(&self) -> HarvestQuery {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        HarvestQuery {
            from: opt(&self.from),
            to: opt(&self.to),
            modalities: self
                .modalities
                .split([',', ' '])
                .map(|m| m.trim().to_uppercase())
                .filter(|m| !m.is_empty())
                .collect(),
        }
    }
}

pub fn show(ui: &mut egui::Ui, p: &mut Pacs, cohorts: &[String], out: &mut Vec<Cmd>) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        let (remote, retrieved, studies) = p.counts;
        ui.label(format!(
            "Harvested from PACS nodes: {studies} studies, {remote} series, of which {retrieved} retrieved (local) and {} remote only.",
            remote.saturating_sub(retrieved)
        ));
        if let Some(m) = &p.message {
            match m {
                Ok(t) => ui.label(egui::RichText::new(t).weak()),
                Err(e) => ui.colored_label(ui.visuals().error_fg_color, e),
            };
        }
        ui.add_space(6.0);
        nodes(ui, p, out);
        ui.add_space(6.0);
        ui.collapsing("Add a node…", |ui| add_form(ui, &mut p.form, out));
        ui.separator();
        harvest(ui, p, out);
        ui.separator();
        retrieve(ui, p, cohorts, out);
    });
}

fn nodes(ui: &mut egui::Ui, p: &Pacs, out: &mut Vec<Cmd>) {
    ui.heading("Nodes");
    if p.nodes.is_empty() {
        ui.label("No PACS node yet: add one below, or with `pacs-cohort pacs add`.");
        return;
    }
    egui::Grid::new("pacs_nodes")
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            for n in &p.nodes {
                ui.strong(&n.name);
                ui.label(n.describe());
                ui.horizontal(|ui| {
                    if ui
                        .button("Echo")
                        .on_hover_text("Verify the node: C-ECHO, or a QIDO-RS query")
                        .clicked()
                    {
                        out.push(Cmd::Echo(n.name.clone()));
                    }
                    if ui
                        .button("Remove")
                        .on_hover_text("Forget the node's settings; harvested rows stay")
                        .clicked()
                    {
                        out.push(Cmd::Remove(n.name.clone()));
                    }
                });
                match p.echo_of(&n.name) {
                    Some(None) => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("asking…");
                        });
                    }
                    Some(Some(Ok(t))) => {
                        ui.label("Echo: answered").on_hover_text(t);
                    }
                    Some(Some(Err(_))) => {
                        ui.colored_label(ui.visuals().error_fg_color, "Echo: failed (below)");
                    }
                    None => {
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
    // Failures in full, wrapped: they say what to do.
    for n in &p.nodes {
        if let Some(Some(Err(e))) = p.echo_of(&n.name) {
            ui.colored_label(ui.visuals().error_fg_color, format!("{}: {e}", n.name));
        }
    }
}

fn add_form(ui: &mut egui::Ui, f: &mut Form, out: &mut Vec<Cmd>) {
    ui.horizontal(|ui| {
        ui.radio_value(&mut f.web, false, "DIMSE (C-FIND, C-GET/C-MOVE)");
        ui.radio_value(&mut f.web, true, "DICOMweb (QIDO-RS, WADO-RS)");
    });
    egui::Grid::new("pacs_add").num_columns(2).show(ui, |ui| {
        let field = |ui: &mut egui::Ui, label: &str, v: &mut String, hint: &str| {
            ui.label(label);
            ui.add(
                egui::TextEdit::singleline(v)
                    .hint_text(hint)
                    .desired_width(260.0),
            );
            ui.end_row();
        };
        field(ui, "Name", &mut f.name, "e.g. hospital");
        if f.web {
            field(ui, "Base URL", &mut f.url, "http://pacs:8042/dicom-web");
            field(ui, "Bearer token", &mut f.bearer, "optional");
        } else {
            field(ui, "AE title", &mut f.ae_title, "the PACS's");
            field(ui, "Host", &mut f.host, "pacs.example.org");
            field(ui, "Port", &mut f.port, "104");
            field(
                ui,
                "Our AE title",
                &mut f.calling_ae,
                "as configured on the PACS",
            );
            field(
                ui,
                "Our storage SCP port",
                &mut f.scp_port,
                "for C-MOVE; optional",
            );
        }
    });
    let node = f.node();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(node.is_ok(), egui::Button::new("Add node"))
            .clicked()
        {
            if let Ok(n) = &node {
                out.push(Cmd::Add(n.clone()));
            }
        }
        if let Err(e) = &node {
            ui.label(egui::RichText::new(e).weak());
        }
    });
}

fn harvest(ui: &mut egui::Ui, p: &mut Pacs, out: &mut Vec<Cmd>) {
    ui.heading("Harvest metadata");
    ui.label(
        egui::RichText::new(
            "Queries studies and series (no images move) into the index, marked remote.",
        )
        .weak(),
    );
    let names: Vec<String> = p.nodes.iter().map(|n| n.name.clone()).collect();
    let f = &mut p.form;
    if f.harvest_node.as_ref().is_none_or(|n| !names.contains(n)) {
        f.harvest_node = names.first().cloned();
    }
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("harvest_node")
            .selected_text(f.harvest_node.clone().unwrap_or_else(|| "no node".into()))
            .show_ui(ui, |ui| {
                for n in &names {
                    ui.selectable_value(&mut f.harvest_node, Some(n.clone()), n);
                }
            });
        ui.label("from");
        ui.add(
            egui::TextEdit::singleline(&mut f.from)
                .hint_text("YYYY-MM-DD")
                .desired_width(100.0),
        );
        ui.label("to");
        ui.add(
            egui::TextEdit::singleline(&mut f.to)
                .hint_text("YYYY-MM-DD")
                .desired_width(100.0),
        );
        ui.label("modalities");
        ui.add(
            egui::TextEdit::singleline(&mut f.modalities)
                .hint_text("CT, MR")
                .desired_width(80.0),
        );
        if let Some(run) = &p.harvest {
            if ui.button("Cancel").clicked() {
                out.push(Cmd::CancelHarvest);
            }
            ui.spinner();
            let pr = run.progress.clone().unwrap_or_default();
            ui.label(format!(
                "{} studies, {} series, {} queries",
                pr.studies, pr.series, pr.queries
            ));
        } else if ui
            .add_enabled(f.harvest_node.is_some(), egui::Button::new("Harvest"))
            .on_hover_text(
                "Runs in the background (see Jobs); a harvest again updates what changed",
            )
            .clicked()
        {
            if let Some(n) = &f.harvest_node {
                out.push(Cmd::Harvest(n.clone(), f.query()));
            }
        }
    });
    match &p.harvest_outcome {
        Some(Ok(r)) => {
            ui.label(format!(
                "'{}': {} studies, {} series; {} queries, {} date ranges split{}",
                r.node,
                r.studies,
                r.series,
                r.queries,
                r.splits,
                if r.cancelled {
                    " (cancelled; harvest again to complete)"
                } else {
                    ""
                }
            ));
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
}

fn retrieve(ui: &mut egui::Ui, p: &mut Pacs, cohorts: &[String], out: &mut Vec<Cmd>) {
    ui.heading("Retrieve a cohort");
    ui.label(
        egui::RichText::new(
            "Fetches the cohort's remote series into the workspace's cache and indexes them as they arrive; what is local already is skipped.",
        )
        .weak(),
    );
    let f = &mut p.form;
    if f.cohort.as_ref().is_none_or(|c| !cohorts.contains(c)) {
        f.cohort = cohorts.first().cloned();
    }
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("retrieve_cohort")
            .selected_text(f.cohort.clone().unwrap_or_else(|| "no saved cohort".into()))
            .show_ui(ui, |ui| {
                for c in cohorts {
                    ui.selectable_value(&mut f.cohort, Some(c.clone()), c);
                }
            });
        ui.radio_value(&mut f.method, RetrieveMethod::Get, "C-GET")
            .on_hover_text("Images come back on our association");
        ui.radio_value(&mut f.method, RetrieveMethod::Move, "C-MOVE")
            .on_hover_text("The PACS sends to our storage SCP (the node's SCP port); it must know our AE title");
        ui.label(egui::RichText::new("(DICOMweb nodes use WADO-RS)").weak());
        if let Some(run) = &p.retrieve {
            if ui.button("Cancel").clicked() {
                out.push(Cmd::CancelRetrieve);
            }
            let pr = run.progress.clone().unwrap_or_default();
            let fraction = if pr.series_total == 0 {
                0.0
            } else {
                pr.series_done as f32 / pr.series_total as f32
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(200.0)
                    .text(format!(
                        "{}/{} series, {} images",
                        pr.series_done, pr.series_total, pr.instances
                    )),
            );
        } else if ui
            .add_enabled(f.cohort.is_some(), egui::Button::new("Retrieve"))
            .on_hover_text("Runs in the background (see Jobs); run again to resume")
            .clicked()
        {
            if let Some(c) = &f.cohort {
                out.push(Cmd::Retrieve(c.clone(), f.method));
            }
        }
    });
    match &p.retrieve_outcome {
        Some(Ok(r)) => {
            ui.label(format!(
                "{} series retrieved ({} images), {} already local, {} failed, of {} remote series{}",
                r.series_retrieved,
                r.instances,
                r.series_skipped,
                r.failures.len(),
                r.series_total,
                if r.cancelled { " (cancelled; retrieve again to resume)" } else { "" }
            ));
            for fl in r.failures.iter().take(5) {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("series {} on '{}': {}", fl.series_uid, fl.node, fl.reason),
                );
            }
            if r.failures.len() > 5 {
                ui.label(format!("and {} more", r.failures.len() - 5));
            }
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
}
