//! Keyed pseudonyms (DECISIONS 18; frozen: changing it breaks linkage
//! across exports, so the recipe is versioned).
//!
//! HMAC-SHA256 with the workspace key and a label per use:
//! - UID: `2.25.` + decimal of the first 128 bits of HMAC("uid\0" + UID);
//! - patient ID: prefix + 12 base32 characters of
//!   HMAC("pid\0" + issuer + "\0" + PatientID);
//! - date offset: -(365 + HMAC("days\0" + patient key) mod 3285) whole days.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Version of the pseudonym recipe, recorded in every export manifest.
pub const RECIPE_VERSION: u32 = 1;

/// The workspace secret.
#[derive(Clone)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

fn mac(key: &Key, label: &str, parts: &[&str]) -> [u8; 32] {
    // The keyed state (the key's inner and outer pads hashed) is set up
    // once per thread and key and cloned per use: half the hashing of a
    // fresh HMAC for these short inputs.
    thread_local! {
        static KEYED: std::cell::RefCell<Option<([u8; 32], Hmac<Sha256>)>> =
            const { std::cell::RefCell::new(None) };
    }
    let mut m = KEYED.with(|cell| {
        let mut cell = cell.borrow_mut();
        match &*cell {
            Some((k, m)) if *k == key.0 => m.clone(),
            _ => {
                let m = <Hmac<Sha256> as Mac>::new_from_slice(&key.0)
                    .expect("HMAC takes keys of any length");
                *cell = Some((key.0, m.clone()));
                m
            }
        }
    });
    m.update(label.as_bytes());
    m.update(b"\0");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            m.update(b"\0");
        }
        m.update(p.as_bytes());
    }
    m.finalize().into_bytes().into()
}

/// The replacement of a UID: `2.25.<decimal of 128 bits>` (at most 44 characters).
pub fn uid(key: &Key, original: &str) -> String {
    let d = mac(key, "uid", &[original.trim_end_matches(['\0', ' '])]);
    let n = u128::from_be_bytes(d[..16].try_into().unwrap_or([0; 16]));
    format!("2.25.{n}")
}

/// The pseudonymous patient ID: `prefix` + 12 base32 characters.
pub fn patient_id(key: &Key, issuer: &str, patient_id: &str, prefix: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let d = mac(key, "pid", &[issuer, patient_id]);
    let mut bits: u64 = u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]));
    let mut out = String::with_capacity(prefix.len() + 12);
    out.push_str(prefix);
    for _ in 0..12 {
        out.push(ALPHABET[(bits >> 59) as usize] as char);
        bits <<= 5;
    }
    out
}

/// The per-patient date offset in whole days: between -365 and -3649.
pub fn date_offset_days(key: &Key, issuer: &str, patient_id: &str) -> i64 {
    let d = mac(key, "days", &[issuer, patient_id]);
    let n = u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]));
    -(365 + (n % 3285) as i64)
}

/// A keyed digest (hex, 128 bits) that names a value without revealing it
/// (e.g. a source path in an export's resume journal).
pub fn keyed_label(key: &Key, label: &str, value: &str) -> String {
    hex(&mac(key, label, &[value])[..16])
}

/// A keyed 64-bit number that names a value without revealing it (ids
/// of exported rows).
pub fn keyed_u64(key: &Key, label: &str, value: &str) -> u64 {
    u64::from_be_bytes(mac(key, label, &[value])[..8].try_into().unwrap_or([0; 8]))
}

/// Lower-case hexadecimal of `bytes` (digests, fingerprints, labels).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_well_formed() {
        let k1 = Key([7; 32]);
        let k2 = Key([8; 32]);
        let u = uid(&k1, "1.2.840.113619.2.55.3.1234");
        assert!(u.starts_with("2.25.") && u.len() <= 64, "{u}");
        assert!(u[5..].bytes().all(|b| b.is_ascii_digit()));
        assert!(!u[5..].starts_with('0') || u.len() == 6, "no leading zero");
        assert_eq!(u, uid(&k1, "1.2.840.113619.2.55.3.1234"), "stable");
        assert_eq!(
            u,
            uid(&k1, "1.2.840.113619.2.55.3.1234\0"),
            "padding ignored"
        );
        assert_ne!(u, uid(&k2, "1.2.840.113619.2.55.3.1234"), "keyed");
        let p = patient_id(&k1, "", "MRN123", "P");
        assert_eq!(p.len(), 13);
        assert!(
            p.starts_with('P')
                && p[1..]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        );
        assert_ne!(
            p,
            patient_id(&k1, "HOSP", "MRN123", "P"),
            "the issuer is part of identity"
        );
        for pid in ["a", "b", "c", "MRN1", "MRN2"] {
            let d = date_offset_days(&k1, "", pid);
            assert!((-3649..=-365).contains(&d), "{d}");
        }
    }
}
