//! The visual PHI review's rules, pure: which event decides an image's
//! state, and what an approval is bound to. An approval holds only while
//! the inputs that made the approved bytes are the same (profile options,
//! the rectangles that apply to the image, the workspace key, the source
//! file, the recipe); comparing them is cheap (a stat per file, no
//! decoding), and the export claims clean pixels only for the SHA-256 of
//! the approved bytes anyway (DECISIONS 25). No I/O here but the stat
//! the caller does.

use crate::deid::profile::Options;
use crate::deid::pseudonym::RECIPE_VERSION;
use crate::model::{Rect, ReviewEvent, ReviewState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// The person reviewing, by default: the operating system's user name
/// (from the environment, else, on Unix, the password database entry of
/// the process's user: services and containers often set no USER).
pub fn default_reviewer() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .or_else(unix_user_name)
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(unix)]
fn unix_user_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // The owner of /proc/self is the process's real user (Linux).
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_name(&passwd, uid)
}

#[cfg(not(unix))]
fn unix_user_name() -> Option<String> {
    None
}

/// The name of user `uid` in a passwd file's text.
#[cfg_attr(not(unix), allow(dead_code))]
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?.trim();
        let id: u32 = f.nth(1)?.trim().parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

fn short_hash(text: &str) -> String {
    crate::deid::pseudonym::hex(&Sha256::digest(text.as_bytes())[..8])
}

/// What the rendered bytes of one image were made from, each part as a
/// short digest so that a changed part can be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInputs {
    options: String,
    masks: String,
    key: String,
    file: String,
    recipe: String,
}

impl ImageInputs {
    /// The inputs of one image: the export's profile options, the mask
    /// rectangles that apply to it (instance masks and templates, in the
    /// order the export applies them), the key's fingerprint, and the
    /// source file's path, size and modification time.
    pub fn new(
        options: &Options,
        rects: &[Rect],
        key_fingerprint: &str,
        path: &Path,
        size: u64,
        mtime_ns: i64,
    ) -> ImageInputs {
        ImageInputs {
            options: short_hash(&format!("{options:?}")),
            masks: short_hash(&format!("{rects:?}")),
            key: short_hash(key_fingerprint),
            file: short_hash(&format!("{}\0{size}\0{mtime_ns}", path.to_string_lossy())),
            // A new app version may render other bytes: approvals made
            // by an older one are asked again.
            recipe: format!("{RECIPE_VERSION}-{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// `o=..;m=..;k=..;f=..;r=..` (stored with the approval).
    pub fn to_text(&self) -> String {
        format!(
            "o={};m={};k={};f={};r={}",
            self.options, self.masks, self.key, self.file, self.recipe
        )
    }

    /// Reads `to_text`'s form (None: not that form).
    pub fn parse(text: &str) -> Option<ImageInputs> {
        let mut parts: HashMap<&str, &str> = HashMap::new();
        for p in text.split(';') {
            let (k, v) = p.split_once('=')?;
            parts.insert(k, v);
        }
        let get = |k: &str| parts.get(k).map(|v| v.to_string());
        Some(ImageInputs {
            options: get("o")?,
            masks: get("m")?,
            key: get("k")?,
            file: get("f")?,
            recipe: get("r")?,
        })
    }

    /// Why an approval made from `approved` does not hold for inputs
    /// `self` (None: it holds). The first changed part is named.
    pub fn stale_reason(&self, approved: &ImageInputs) -> Option<&'static str> {
        if self.key != approved.key {
            Some("key changed")
        } else if self.options != approved.options {
            Some("profile options changed")
        } else if self.masks != approved.masks {
            Some("masks changed")
        } else if self.file != approved.file {
            Some("source file changed")
        } else if self.recipe != approved.recipe {
            Some("app version changed")
        } else {
            None
        }
    }
}

/// Why a stored approval text does not hold for `current` (an unreadable
/// stored text never holds).
pub fn stale_reason(current: &ImageInputs, stored: &str) -> Option<&'static str> {
    match ImageInputs::parse(stored) {
        Some(approved) => current.stale_reason(&approved),
        None => Some("approval record unreadable"),
    }
}

/// One digest of `(SOP Instance UID, value)` pairs, whatever their order
/// (an approval's inputs digest and content digest).
pub fn pairs_digest(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let mut h = Sha256::new();
    for (sop, value) in sorted {
        h.update(sop.as_bytes());
        h.update([0]);
        h.update(value.as_bytes());
        h.update([b'\n']);
    }
    crate::deid::pseudonym::hex(&h.finalize())
}

/// Which event decides each image of one series.
///
/// The series' state is its newest series-level event. An image's own
/// events override it (a mixed series) until a series-level reset, which
/// clears every override made before it; an image-level reset clears that
/// image's override. A later series approval does not clear an image's
/// exclusion or "needs masking": re-approving a series after an option
/// change must not bring back an image a reviewer took out.
#[derive(Debug, Default)]
pub struct Decided<'a> {
    series: Option<&'a ReviewEvent>,
    images: HashMap<&'a str, &'a ReviewEvent>,
}

impl<'a> Decided<'a> {
    /// Folds the events of one series (any order; ids order them).
    pub fn of(events: &'a [ReviewEvent]) -> Decided<'a> {
        let newest = |a: Option<&'a ReviewEvent>, e: &'a ReviewEvent| match a {
            Some(a) if a.id > e.id => Some(a),
            _ => Some(e),
        };
        let mut series = None;
        let mut reset = 0;
        for e in events.iter().filter(|e| e.sop_uid.is_none()) {
            series = newest(series, e);
            if e.state == ReviewState::Unreviewed {
                reset = reset.max(e.id);
            }
        }
        let mut images: HashMap<&str, &ReviewEvent> = HashMap::new();
        for e in events.iter().filter(|e| e.id > reset) {
            if let Some(sop) = e.sop_uid.as_deref() {
                if images.get(sop).is_none_or(|old| old.id < e.id) {
                    images.insert(sop, e);
                }
            }
        }
        images.retain(|_, e| e.state != ReviewState::Unreviewed);
        Decided { series, images }
    }

    /// The newest series-level event.
    pub fn series_event(&self) -> Option<&'a ReviewEvent> {
        self.series
    }

    /// The series' own state (before any staleness check).
    pub fn series_state(&self) -> ReviewState {
        self.series.map_or(ReviewState::Unreviewed, |e| e.state)
    }

    /// The image's own decision, if it overrides the series'.
    pub fn image_override(&self, sop_uid: &str) -> Option<&'a ReviewEvent> {
        self.images.get(sop_uid).copied()
    }

    /// Every image override, by SOP Instance UID (sorted).
    pub fn overrides(&self) -> Vec<&'a ReviewEvent> {
        let mut v: Vec<&ReviewEvent> = self.images.values().copied().collect();
        v.sort_by(|a, b| a.sop_uid.cmp(&b.sop_uid));
        v
    }

    /// The event that decides an image: its override, else the series'.
    pub fn event_for(&self, sop_uid: &str) -> Option<&'a ReviewEvent> {
        self.image_override(sop_uid).or(self.series)
    }

    /// Whether a series-level approval covers this image (an image with
    /// its own exclusion or "needs masking" is not rendered for it).
    pub fn series_covers(&self, sop_uid: &str) -> bool {
        !matches!(
            self.image_override(sop_uid).map(|e| e.state),
            Some(ReviewState::Excluded | ReviewState::NeedsMasking)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, sop: Option<&str>, state: ReviewState) -> ReviewEvent {
        ReviewEvent {
            id,
            series_uid: "1.2.3".into(),
            sop_uid: sop.map(str::to_string),
            state,
            reviewer: "r".into(),
            at: String::new(),
            note: String::new(),
        }
    }

    fn inputs(options: Options, rects: &[Rect], key: &str, mtime: i64) -> ImageInputs {
        ImageInputs::new(&options, rects, key, Path::new("/a/b.dcm"), 100, mtime)
    }

    #[test]
    fn each_changed_input_is_named_and_nothing_else_invalidates() {
        let rect = Rect {
            x: 0,
            y: 0,
            width: 4,
            height: 4,
        };
        let base = inputs(Options::default(), &[], "k1", 5);
        assert_eq!(
            base.stale_reason(&inputs(Options::default(), &[], "k1", 5)),
            None
        );
        let other_options = Options {
            retain_device_identity: true,
            ..Options::default()
        };
        let cases = [
            (
                inputs(other_options, &[], "k1", 5),
                "profile options changed",
            ),
            (
                inputs(Options::default(), &[rect], "k1", 5),
                "masks changed",
            ),
            (inputs(Options::default(), &[], "k2", 5), "key changed"),
            (
                inputs(Options::default(), &[], "k1", 6),
                "source file changed",
            ),
        ];
        for (changed, why) in cases {
            assert_eq!(changed.stale_reason(&base), Some(why));
            assert_eq!(stale_reason(&changed, &base.to_text()), Some(why));
        }
        let moved = ImageInputs::new(
            &Options::default(),
            &[],
            "k1",
            Path::new("/a/c.dcm"),
            100,
            5,
        );
        assert_eq!(moved.stale_reason(&base), Some("source file changed"));
        let mut older = base.clone();
        older.recipe = "0-0.0.0".into();
        assert_eq!(base.stale_reason(&older), Some("app version changed"));
        // The stored text reads back to the same inputs.
        assert_eq!(ImageInputs::parse(&base.to_text()), Some(base.clone()));
        assert_eq!(
            stale_reason(&base, "garbage"),
            Some("approval record unreadable")
        );
    }

    #[test]
    fn the_default_reviewer_is_found_in_the_password_database() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(passwd_name(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(passwd_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(passwd, 7), None);
        assert!(!default_reviewer().is_empty());
    }

    #[test]
    fn pair_digests_ignore_order_but_not_content() {
        let a = ("1".to_string(), "x".to_string());
        let b = ("2".to_string(), "y".to_string());
        assert_eq!(
            pairs_digest(&[a.clone(), b.clone()]),
            pairs_digest(&[b.clone(), a.clone()])
        );
        assert_ne!(
            pairs_digest(&[a.clone(), b]),
            pairs_digest(&[a, ("2".into(), "z".into())])
        );
        // Pairs are delimited: ("1","2x") is not ("12","x").
        assert_ne!(
            pairs_digest(&[("1".into(), "2x".into())]),
            pairs_digest(&[("12".into(), "x".into())])
        );
    }

    #[test]
    fn image_decisions_override_the_series_until_a_series_reset() {
        use ReviewState::*;
        let events = vec![
            ev(1, None, Approved),
            ev(2, Some("a"), Excluded),
            ev(3, Some("b"), NeedsMasking),
            ev(4, Some("b"), Approved),
            ev(5, None, Approved), // re-approval keeps a's exclusion
            ev(6, Some("c"), Excluded),
            ev(7, Some("c"), Unreviewed), // image reset: follows the series
        ];
        let d = Decided::of(&events);
        assert_eq!(d.series_state(), Approved);
        assert_eq!(d.series_event().unwrap().id, 5);
        assert_eq!(d.event_for("a").unwrap().state, Excluded);
        assert_eq!(d.event_for("b").unwrap().id, 4);
        assert_eq!(d.event_for("c").unwrap().id, 5);
        assert_eq!(d.event_for("z").unwrap().id, 5);
        assert!(!d.series_covers("a") && d.series_covers("b") && d.series_covers("c"));
        assert_eq!(d.overrides().len(), 2);

        // A series reset clears the overrides made before it.
        let mut events = events;
        events.push(ev(8, None, Unreviewed));
        events.push(ev(9, Some("b"), Excluded));
        let d = Decided::of(&events);
        assert_eq!(d.series_state(), Unreviewed);
        assert!(d.image_override("a").is_none());
        assert_eq!(d.event_for("b").unwrap().id, 9);
        assert_eq!(d.event_for("a").unwrap().id, 8);

        let none: Vec<ReviewEvent> = Vec::new();
        let d = Decided::of(&none);
        assert_eq!(d.series_state(), Unreviewed);
        assert!(d.event_for("a").is_none());
    }
}
