//! Small-cell suppression for tables of results (DOMAIN 3): a cell whose
//! count (or complement, events out of a denominator) is 1..=threshold is
//! hidden, and where a total over a group of cells is released, enough
//! other cells are hidden that no hidden cell can be derived from the
//! total and the released cells: never exactly one hidden cell in a group,
//! and never hidden cells that must all be 1.

/// One cell of a group: its events and, for proportions, its denominator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmallCell {
    pub events: u64,
    pub denominator: Option<u64>,
}

fn small(n: u64, threshold: u64) -> bool {
    (1..=threshold).contains(&n)
}

/// Whether a cell must be hidden for its own sake.
pub fn primary(c: SmallCell, threshold: u64) -> bool {
    small(c.events, threshold)
        || c.denominator
            .is_some_and(|n| small(n, threshold) || small(n.saturating_sub(c.events), threshold))
}

/// Cells hidden in a group whose total is released; `true` in the second
/// value when even hiding every cell leaves one derivable, so the total
/// must be hidden too.
pub fn suppress_group(cells: &[SmallCell], threshold: u64) -> (Vec<bool>, bool) {
    let mut hidden: Vec<bool> = cells.iter().map(|c| primary(*c, threshold)).collect();
    loop {
        if safe(cells, &hidden) {
            return (hidden, false);
        }
        // Hide the released cell with the smallest counts next (it tells
        // the least); cells of 0 events are kept visible while others
        // remain.
        let next = (0..cells.len()).filter(|i| !hidden[*i]).min_by_key(|i| {
            (
                cells[*i].events == 0,
                cells[*i].events,
                cells[*i].denominator,
            )
        });
        match next {
            Some(i) => hidden[i] = true,
            None => return (hidden, true),
        }
    }
}

/// No hidden cell can be pinned down from the group's totals.
fn safe(cells: &[SmallCell], hidden: &[bool]) -> bool {
    let h: Vec<&SmallCell> = cells
        .iter()
        .zip(hidden)
        .filter(|(_, h)| **h)
        .map(|(c, _)| c)
        .collect();
    if h.is_empty() {
        return true;
    }
    if h.len() == 1 {
        return false;
    }
    let k = h.len() as u64;
    // Hidden cells are at least 1 each (zeros are never hidden for their
    // own sake): a sum equal to their number gives each away.
    let events: u64 = h.iter().map(|c| c.events).sum();
    let complements: Option<u64> = h.iter().map(|c| c.denominator.map(|n| n - c.events)).sum();
    // A sum of 0 gives every hidden cell away too.
    let pinned = |sum: u64| sum == k || sum == 0;
    !(pinned(events) || complements.is_some_and(pinned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[(u64, u64)]) -> Vec<SmallCell> {
        v.iter()
            .map(|&(events, n)| SmallCell {
                events,
                denominator: Some(n),
            })
            .collect()
    }

    /// The attacker: knows the released cells, the group's totals of
    /// events and of non-events, and assumes (the published rule) that a
    /// hidden cell holds at least 1. Enumerates every completion of the
    /// hidden events and non-events; a hidden cell is derived when all
    /// completions give it the same value.
    fn derivable(all: &[SmallCell], hidden: &[bool]) -> bool {
        let k = hidden.iter().filter(|h| **h).count();
        if k == 0 {
            return false;
        }
        let rest = |f: &dyn Fn(&SmallCell) -> u64| -> u64 {
            all.iter()
                .zip(hidden)
                .filter(|(_, h)| **h)
                .map(|(c, _)| f(c))
                .sum()
        };
        let pinned_for = |sum: u64, at_least: u64| -> bool {
            // Completions of k cells >= at_least summing to `sum`: cell 0
            // can take every value in [at_least, sum - (k-1)·at_least].
            let lo = at_least;
            let hi = sum.saturating_sub((k as u64 - 1) * at_least);
            let feasible = sum >= k as u64 * at_least;
            feasible && lo == hi
        };
        // Events >= 1 (or >= 0 for a 0 sum), non-events >= 0 or >= 1.
        let events = rest(&|c| c.events);
        let others = rest(&|c| c.denominator.unwrap_or(c.events) - c.events);
        k == 1 || events == 0 || pinned_for(events, 1) || others == 0 || pinned_for(others, 1)
    }

    #[test]
    fn no_hidden_cell_can_be_derived_from_the_total() {
        let groups = [
            vec![(3, 40), (25, 60), (30, 70)],
            vec![(1, 50), (1, 60), (40, 70)],
            vec![(0, 50), (5, 60), (40, 70)],
            vec![(12, 50), (30, 40), (40, 70)],
            vec![(2, 12), (1, 3)],
            vec![(50, 52), (20, 60), (30, 70)],
        ];
        for g in groups {
            let c = cells(&g);
            let (hidden, total_hidden) = suppress_group(&c, 10);
            for (cell, h) in c.iter().zip(&hidden) {
                if primary(*cell, 10) {
                    assert!(h, "{g:?}: a small cell is visible");
                }
            }
            if !total_hidden {
                assert!(!derivable(&c, &hidden), "{g:?}: {hidden:?}");
            }
        }
    }

    #[test]
    fn nothing_is_hidden_when_nothing_is_small_and_zero_stays_visible() {
        let c = cells(&[(0, 50), (25, 60), (30, 70)]);
        assert_eq!(suppress_group(&c, 10), (vec![false, false, false], false));
    }
}
