//! Shifting dates and datetimes by whole days; capping and formatting ages.

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date of a day count from 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Shifts a DA value (`YYYYMMDD`) by `days`; `None` when it is not a valid date.
pub fn shift_da(da: &str, days: i64) -> Option<String> {
    let t = da.trim_end_matches([' ', '\0']);
    if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (
        t[..4].parse().ok()?,
        t[4..6].parse().ok()?,
        t[6..].parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (y2, m2, d2) = civil_from_days(days_from_civil(y, m, d) + days);
    (y2 >= 0).then(|| format!("{y2:04}{m2:02}{d2:02}"))
}

/// Shifts a DT value (`YYYYMMDD[HHMMSS[.F]][&ZZXX]`) by whole days: the
/// date part moves, the time of day and any offset are kept (times move
/// with their dates, never across midnight, because the shift is whole days).
pub fn shift_dt(dt: &str, days: i64) -> Option<String> {
    let t = dt.trim_end_matches([' ', '\0']);
    if t.len() < 8 {
        return None;
    }
    let date = shift_da(&t[..8], days)?;
    Some(format!("{date}{}", &t[8..]))
}

/// Shifts every value of a multi-valued DA or DT element (`\\`-separated;
/// a DA value may be a range `A-B` with either end open) by whole days;
/// `None` (the element is removed) when any value is not a date: a value
/// left unshifted would keep the original date.
pub fn shift_values(text: &str, is_dt: bool, days: i64) -> Option<String> {
    let text = text.trim_end_matches([' ', '\0']);
    let one = |v: &str| -> Option<String> {
        let v = v.trim();
        if is_dt {
            return shift_dt(v, days);
        }
        match v.split_once('-') {
            Some((a, b)) => {
                let end = |x: &str| {
                    if x.is_empty() {
                        Some(String::new())
                    } else {
                        shift_da(x, days)
                    }
                };
                Some(format!("{}-{}", end(a)?, end(b)?))
            }
            None => shift_da(v, days),
        }
    };
    let shifted: Option<Vec<String>> = text.split('\\').map(one).collect();
    shifted.map(|v| v.join("\\"))
}

/// Caps an Age String at 90 years (HIPAA Safe Harbor): anything over 89
/// years becomes `090Y`. Invalid values give `None`.
pub fn cap_age(age: &str) -> Option<String> {
    let t = age.trim();
    if t.len() != 4 {
        return None;
    }
    let (num, unit) = t.split_at(3);
    let n: u32 = num.parse().ok()?;
    let years = match unit {
        "Y" => n,
        "M" => n / 12,
        "W" => n / 52,
        "D" => n / 365,
        _ => return None,
    };
    Some(if years > 89 {
        "090Y".to_string()
    } else {
        t.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_shift_across_months_years_and_leap_days() {
        assert_eq!(shift_da("20240301", -1).as_deref(), Some("20240229"));
        assert_eq!(shift_da("20230301", -1).as_deref(), Some("20230228"));
        assert_eq!(shift_da("20200101", -365).as_deref(), Some("20190101"));
        assert_eq!(shift_da("20200101", -366).as_deref(), Some("20181231"));
        assert_eq!(shift_da("19700101", 0).as_deref(), Some("19700101"));
        assert_eq!(shift_da("2020-01-01", 1), None);
        assert_eq!(shift_da("20201301", 1), None);
        assert_eq!(
            shift_dt("20240301235959.123456+0100", -1).as_deref(),
            Some("20240229235959.123456+0100")
        );
        assert_eq!(
            shift_dt("20240301", -3649).as_deref(),
            shift_da("20240301", -3649).as_deref()
        );
    }

    #[test]
    fn every_value_of_a_multi_valued_date_or_range_is_shifted() {
        assert_eq!(
            shift_values("20190305101500\\20190306", true, 1).as_deref(),
            Some("20190306101500\\20190307")
        );
        assert_eq!(
            shift_values("20190301-20190305", false, -1).as_deref(),
            Some("20190228-20190304")
        );
        assert_eq!(
            shift_values("20190301-", false, 1).as_deref(),
            Some("20190302-")
        );
        assert_eq!(
            shift_values("20190301\\garbage", false, 1),
            None,
            "one bad value removes the element rather than keep an original date"
        );
    }

    #[test]
    fn ages_are_capped_and_validated() {
        assert_eq!(cap_age("045Y").as_deref(), Some("045Y"));
        assert_eq!(cap_age("089Y").as_deref(), Some("089Y"));
        assert_eq!(cap_age("090Y").as_deref(), Some("090Y"));
        assert_eq!(cap_age("102Y").as_deref(), Some("090Y"));
        assert_eq!(cap_age("600M").as_deref(), Some("600M"), "50 years");
        assert_eq!(cap_age("999M").as_deref(), Some("999M"), "83 years");
        assert_eq!(cap_age("45Y"), None);
    }
}
