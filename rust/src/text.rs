//! A random-access view of a column of texts, so the algorithms read Arrow buffers, Rust slices
//! or anything else without copying them into per-record strings.

/// Records addressed by position. `text` returns `None` for a null.
pub trait Texts: Sync {
    fn len(&self) -> usize;
    fn text(&self, i: usize) -> Option<&str>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: AsRef<str> + Sync> Texts for [S] {
    fn len(&self) -> usize {
        <[S]>::len(self)
    }
    fn text(&self, i: usize) -> Option<&str> {
        Some(self[i].as_ref())
    }
}

impl<S: AsRef<str> + Sync> Texts for Vec<S> {
    fn len(&self) -> usize {
        <[S]>::len(self)
    }
    fn text(&self, i: usize) -> Option<&str> {
        Some(self[i].as_ref())
    }
}
