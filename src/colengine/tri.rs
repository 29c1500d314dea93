//! Three-valued sets: which rows a criterion makes true, which unknown
//! (SQL NULL: a missing value), the rest false. SQL's NOT/AND/OR on NULL
//! decide counts (`not` of an unknown age is still unknown, so it matches
//! nothing), so the bitmaps carry both.

use fixedbitset::FixedBitSet;

/// True and unknown rows of one level (disjoint).
#[derive(Debug, Clone)]
pub struct Tri {
    pub t: FixedBitSet,
    pub u: FixedBitSet,
}

impl Tri {
    /// Known everywhere: true on `t`, false elsewhere.
    pub fn known(t: FixedBitSet) -> Tri {
        let u = FixedBitSet::with_capacity(t.len());
        Tri { t, u }
    }

    /// All false.
    pub fn none(n: usize) -> Tri {
        Tri::known(FixedBitSet::with_capacity(n))
    }

    /// All true.
    pub fn all(n: usize) -> Tri {
        let mut t = FixedBitSet::with_capacity(n);
        t.insert_range(..);
        Tri::known(t)
    }

    /// NOT: true <-> false, unknown stays unknown.
    pub fn not(self) -> Tri {
        let mut f = self.t;
        f.union_with(&self.u);
        f.toggle_range(..);
        Tri { t: f, u: self.u }
    }

    /// AND (Kleene): unknown unless some side is false or both are true.
    pub fn and(self, o: &Tri) -> Tri {
        let mut t = self.t.clone();
        t.intersect_with(&o.t);
        let mut u = self.u.clone();
        u.union_with(&o.u);
        let mut a = self.t;
        a.union_with(&self.u);
        let mut b = o.t.clone();
        b.union_with(&o.u);
        u.intersect_with(&a);
        u.intersect_with(&b);
        u.difference_with(&t);
        Tri { t, u }
    }

    /// OR (Kleene): true if some side is true, else unknown if some side is.
    pub fn or(mut self, o: &Tri) -> Tri {
        self.t.union_with(&o.t);
        self.u.union_with(&o.u);
        self.u.difference_with(&self.t);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tri(v: &[Option<bool>]) -> Tri {
        let mut t = FixedBitSet::with_capacity(v.len());
        let mut u = FixedBitSet::with_capacity(v.len());
        for (i, x) in v.iter().enumerate() {
            match x {
                Some(true) => t.insert(i),
                None => u.insert(i),
                Some(false) => {}
            }
        }
        Tri { t, u }
    }

    fn get(x: &Tri, i: usize) -> Option<bool> {
        if x.u.contains(i) {
            None
        } else {
            Some(x.t.contains(i))
        }
    }

    #[test]
    fn kleene_truth_tables() {
        let vals = [Some(true), Some(false), None];
        let mut a = Vec::new();
        let mut b = Vec::new();
        for x in vals {
            for y in vals {
                a.push(x);
                b.push(y);
            }
        }
        let (ta, tb) = (tri(&a), tri(&b));
        let and = ta.clone().and(&tb);
        let or = ta.clone().or(&tb);
        let not = ta.clone().not();
        for i in 0..a.len() {
            let want_and = match (a[i], b[i]) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            let want_or = match (a[i], b[i]) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            };
            assert_eq!(get(&and, i), want_and, "{:?} AND {:?}", a[i], b[i]);
            assert_eq!(get(&or, i), want_or, "{:?} OR {:?}", a[i], b[i]);
            assert_eq!(get(&not, i), a[i].map(|x| !x));
        }
    }
}
