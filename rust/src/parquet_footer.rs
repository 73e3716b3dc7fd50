//! The head of a Parquet footer: the file's `FileMetaData` (Thrift compact protocol) with only its
//! first row groups kept, every other field copied byte for byte.
//!
//! `tsqa plan` needs, per seed file, its row count and its first few rows. A Parquet reader parses
//! the whole footer first, and its cost grows with the row groups (~2.5 µs each in pyarrow: 0.43 ms
//! for a file of 137 groups, 0.09 ms for one). Walking the compact encoding to skip the groups
//! the sample does not read costs a few µs; the reader then parses the short footer.
//!
//! Only the row-group list (field 4) changes: its header gives the kept count and the elements
//! after the kept ones are left out. Field headers encode the delta from the previous field id,
//! and no field is added or removed, so every other byte stays valid.

/// A footer head: the file's row count (field 3), its row groups, the ones kept (the first groups
/// holding at least the rows asked for) and the trimmed footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterHead {
    pub num_rows: i64,
    pub row_groups: usize,
    pub kept_groups: usize,
    pub kept_rows: i64,
    pub footer: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterError(pub &'static str);

const STOP: u8 = 0;
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

/// Deeper nesting than any Parquet footer has (a schema is a flat list): a bound on recursion
/// for a damaged or hostile file.
const MAX_DEPTH: usize = 32;

/// Thrift limits of pyarrow's footer reader (`ReaderProperties`): a footer over them fails to
/// open there, so it must not open here either.
const CONTAINER_LIMIT: usize = 1_000_000;
const STRING_LIMIT: u64 = 100_000_000;

const FILE_NUM_ROWS: i16 = 3;
const FILE_ROW_GROUPS: i16 = 4;
const GROUP_NUM_ROWS: i16 = 3;

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, FooterError> {
        let b = *self.data.get(self.pos).ok_or(FooterError("footer ends early"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, FooterError> {
        // Most varints in a footer are one byte (field ids, small lengths, flags).
        if let Some(&b) = self.data.get(self.pos) {
            if b & 0x80 == 0 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(FooterError("varint longer than 10 bytes"))
    }

    fn zigzag(&mut self) -> Result<i64, FooterError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip(&mut self, n: usize) -> Result<(), FooterError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or(FooterError("footer ends early"))?;
        self.pos = end;
        Ok(())
    }

    /// A field header: (field id, type), or None at a struct's stop byte.
    fn field(&mut self, last_id: i16) -> Result<Option<(i16, u8)>, FooterError> {
        let header = self.byte()?;
        if header == STOP {
            return Ok(None);
        }
        let kind = header & 0x0f;
        let delta = header >> 4;
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| FooterError("field id out of range"))?
        } else {
            last_id.checked_add(i16::from(delta)).ok_or(FooterError("field id out of range"))?
        };
        Ok(Some((id, kind)))
    }

    /// A list or set header: (element count, element type).
    fn list_header(&mut self) -> Result<(usize, u8), FooterError> {
        let header = self.byte()?;
        let short = usize::from(header >> 4);
        let size = if short == 15 { self.varint()? as usize } else { short };
        if size > self.data.len() || size > CONTAINER_LIMIT {
            return Err(FooterError("list longer than the footer"));
        }
        Ok((size, header & 0x0f))
    }

    fn skip_value(&mut self, kind: u8, depth: usize) -> Result<(), FooterError> {
        if depth > MAX_DEPTH {
            return Err(FooterError("footer nested too deeply"));
        }
        match kind {
            BOOL_TRUE | BOOL_FALSE => Ok(()), // a field's value is in its header
            BYTE => self.skip(1),
            I16 | I32 | I64 => self.varint().map(|_| ()),
            DOUBLE => self.skip(8),
            BINARY => {
                let n = self.varint()?;
                if n > STRING_LIMIT {
                    return Err(FooterError("binary over the reader's limit"));
                }
                self.skip(usize::try_from(n).map_err(|_| FooterError("binary longer than the footer"))?)
            }
            LIST | SET => {
                let (size, elem) = self.list_header()?;
                for _ in 0..size {
                    self.skip_element(elem, depth + 1)?;
                }
                Ok(())
            }
            MAP => {
                let size = self.varint()? as usize;
                if size > self.data.len() || size > CONTAINER_LIMIT {
                    return Err(FooterError("map longer than the footer"));
                }
                if size == 0 {
                    return Ok(());
                }
                let kinds = self.byte()?;
                for _ in 0..size {
                    self.skip_element(kinds >> 4, depth + 1)?;
                    self.skip_element(kinds & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            STRUCT => self.skip_struct(depth + 1),
            _ => Err(FooterError("unknown Thrift type")),
        }
    }

    /// A list, set or map element: booleans take one byte there (not a header nibble).
    fn skip_element(&mut self, kind: u8, depth: usize) -> Result<(), FooterError> {
        if kind == BOOL_TRUE || kind == BOOL_FALSE {
            self.skip(1)
        } else {
            self.skip_value(kind, depth)
        }
    }

    fn skip_struct(&mut self, depth: usize) -> Result<(), FooterError> {
        let mut last = 0i16;
        while let Some((id, kind)) = self.field(last)? {
            self.skip_value(kind, depth)?;
            last = id;
        }
        Ok(())
    }

    /// A RowGroup struct skipped, returning its `num_rows`. The groups the head leaves out are
    /// never parsed by the Parquet reader, so their required fields are checked here (a field of
    /// the wrong type counts as missing, as Thrift skips it): a damaged group fails the open as
    /// it fails a full one.
    fn row_group_rows(&mut self) -> Result<i64, FooterError> {
        let fields = self.checked_struct(Shape::RowGroup, 1)?;
        fields.num_rows.ok_or(FooterError("row group without num_rows"))
    }

    /// A struct of `shape`, skipped, its required fields checked (nested ones too).
    fn checked_struct(&mut self, shape: Shape, depth: usize) -> Result<Seen, FooterError> {
        if depth > MAX_DEPTH {
            return Err(FooterError("footer nested too deeply"));
        }
        let mut seen = Seen::default();
        let mut last = 0i16;
        while let Some((id, kind)) = self.field(last)? {
            last = id;
            let expected = shape.field(id);
            match expected {
                Some((want, _)) if !same_type(want, kind) => self.skip_value(kind, depth)?, // Thrift skips it
                Some((_, Nested::Struct(inner))) => {
                    self.checked_struct(inner, depth + 1)?;
                }
                Some((_, Nested::ListOf(inner))) => {
                    let (size, elem) = self.list_header()?;
                    if elem != STRUCT {
                        return Err(FooterError("a list of structs holds something else"));
                    }
                    for _ in 0..size {
                        self.checked_struct(inner, depth + 1)?;
                    }
                }
                Some((_, Nested::ListOfKind(want))) => {
                    let (size, elem) = self.list_header()?;
                    if size > 0 && elem != want {
                        return Err(FooterError("a list holds elements of another type"));
                    }
                    for _ in 0..size {
                        self.skip_element(elem, depth + 1)?;
                    }
                }
                Some((_, Nested::No)) if shape == Shape::RowGroup && id == GROUP_NUM_ROWS => {
                    seen.num_rows = Some(self.zigzag()?);
                }
                _ => self.skip_value(kind, depth)?,
            }
            if let Some((want, _)) = expected {
                if same_type(want, kind) && id < 64 {
                    seen.ids |= 1 << id;
                }
            }
        }
        let required = shape.required();
        if seen.ids & required != required {
            return Err(FooterError("a required field is missing"));
        }
        Ok(seen)
    }
}

/// A field header's type against the type a field is declared with: a boolean's value is its
/// header's type (true or false).
fn same_type(want: u8, kind: u8) -> bool {
    want == kind || (want == BOOL_TRUE && kind == BOOL_FALSE)
}

#[derive(Default)]
struct Seen {
    ids: u64,
    num_rows: Option<i64>,
}

/// The structs below a row group whose required fields (parquet.thrift) are checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    RowGroup,
    ColumnChunk,
    ColumnMetaData,
    KeyValue,
    PageEncodingStats,
    SortingColumn,
}

enum Nested {
    No,
    Struct(Shape),
    ListOf(Shape),
    ListOfKind(u8),
}

impl Shape {
    /// (compact type, what it holds) of a known field.
    fn field(self, id: i16) -> Option<(u8, Nested)> {
        use Nested::{ListOf, ListOfKind, No, Struct};
        Some(match (self, id) {
            (Shape::RowGroup, 1) => (LIST, ListOf(Shape::ColumnChunk)),
            (Shape::RowGroup, 2 | 3) => (I64, No),
            (Shape::RowGroup, 4) => (LIST, ListOf(Shape::SortingColumn)),
            (Shape::ColumnChunk, 2) => (I64, No),
            (Shape::ColumnChunk, 3) => (STRUCT, Struct(Shape::ColumnMetaData)),
            (Shape::ColumnMetaData, 1 | 4) => (I32, No),
            (Shape::ColumnMetaData, 2) => (LIST, ListOfKind(I32)),
            (Shape::ColumnMetaData, 3) => (LIST, ListOfKind(BINARY)),
            (Shape::ColumnMetaData, 5..=7 | 9) => (I64, No),
            (Shape::ColumnMetaData, 8) => (LIST, ListOf(Shape::KeyValue)),
            (Shape::ColumnMetaData, 13) => (LIST, ListOf(Shape::PageEncodingStats)),
            (Shape::KeyValue, 1) => (BINARY, No),
            (Shape::PageEncodingStats, 1..=3) => (I32, No),
            (Shape::SortingColumn, 1) => (I32, No),
            (Shape::SortingColumn, 2 | 3) => (BOOL_TRUE, No),
            _ => return None,
        })
    }

    /// Bits of the required field ids.
    fn required(self) -> u64 {
        match self {
            Shape::RowGroup => 0b1110,
            Shape::ColumnChunk => 0b100,
            Shape::ColumnMetaData => 0b10_1111_1110,
            Shape::KeyValue => 0b10,
            Shape::PageEncodingStats => 0b1110,
            Shape::SortingColumn => 0b1110,
        }
    }
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The footer of the Parquet file at `path`: its Thrift bytes, read with the file's length and
/// magic; None for a file that does not end like a plain Parquet file (too short, no `PAR1`: an
/// encrypted footer ends in `PARE`) or cannot be read.
pub fn read_footer(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;

    // Non-blocking: a FIFO under a data file's name must not hang the plan on its open.
    const O_NONBLOCK: i32 = 0o4000;
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut file = std::fs::OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() < 12 {
        return None;
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).ok()?;
    file.read_exact(&mut tail).ok()?;
    if &tail[4..] != b"PAR1" {
        return None;
    }
    let length = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if length + 12 > meta.len() {
        return None;
    }
    let mut footer = vec![0u8; usize::try_from(length).ok()?];
    file.seek(SeekFrom::End(-8 - i64::try_from(length).ok()?)).ok()?;
    file.read_exact(&mut footer).ok()?;
    Some(footer)
}

/// `footer`: the Thrift bytes before the length and the `PAR1` magic. Keeps the first row groups
/// that hold at least `min_rows` rows (at least one group when the file has any).
pub fn footer_head(footer: &[u8], min_rows: i64) -> Result<FooterHead, FooterError> {
    let mut r = Reader { data: footer, pos: 0 };
    let mut out = Vec::with_capacity(footer.len().min(1 << 16));
    let mut num_rows = None;
    let mut groups = None;
    let mut last = 0i16;
    loop {
        let start = r.pos;
        let Some((id, kind)) = r.field(last)? else {
            out.push(STOP);
            break;
        };
        last = id;
        if id == FILE_NUM_ROWS && kind == I64 {
            num_rows = Some(r.zigzag()?);
            out.extend_from_slice(&footer[start..r.pos]);
        } else if id == FILE_ROW_GROUPS && kind == LIST {
            out.extend_from_slice(&footer[start..r.pos]); // the field header
            let (size, elem) = r.list_header()?;
            if elem != STRUCT {
                return Err(FooterError("row groups are not structs"));
            }
            let mut kept: Vec<u8> = Vec::new();
            let (mut kept_groups, mut kept_rows) = (0usize, 0i64);
            for _ in 0..size {
                let element = r.pos;
                let rows = r.row_group_rows()?;
                if kept_groups == 0 || kept_rows < min_rows {
                    kept.extend_from_slice(&footer[element..r.pos]);
                    kept_groups += 1;
                    kept_rows = kept_rows.saturating_add(rows);
                }
            }
            if kept_groups < 15 {
                out.push(((kept_groups as u8) << 4) | STRUCT);
            } else {
                out.push(0xf0 | STRUCT);
                push_varint(&mut out, kept_groups as u64);
            }
            out.extend_from_slice(&kept);
            groups = Some((size, kept_groups, kept_rows));
        } else {
            r.skip_value(kind, 0)?;
            out.extend_from_slice(&footer[start..r.pos]);
        }
    }
    if r.pos != footer.len() {
        return Err(FooterError("bytes after the footer's end"));
    }
    let num_rows = num_rows.ok_or(FooterError("footer without num_rows"))?;
    let (row_groups, kept_groups, kept_rows) = groups.ok_or(FooterError("footer without row groups"))?;
    Ok(FooterHead { num_rows, row_groups, kept_groups, kept_rows, footer: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zigzag(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }

    /// A RowGroup: columns (an empty list), total_byte_size, num_rows, then an optional ordinal.
    fn group(rows: i64, ordinal: Option<i16>) -> Vec<u8> {
        let mut g = vec![0x19, 0x0c]; // field 1, list; 0 structs
        g.push(0x16); // field 2 (delta 1), i64
        push_varint(&mut g, zigzag(1000));
        g.push(0x16); // field 3, i64
        push_varint(&mut g, zigzag(rows));
        if let Some(o) = ordinal {
            g.push(0x44); // field 7 (delta 4), i16
            push_varint(&mut g, zigzag(i64::from(o)));
        }
        g.push(STOP);
        g
    }

    fn file(groups: &[Vec<u8>], total: i64) -> Vec<u8> {
        let mut f = vec![0x15, 2]; // field 1, i32 version 1
        f.extend([0x19, 0x1c, 0x18, 3, b'a', b'b', b'c', STOP]); // field 2: one struct {1: "abc"}
        f.push(0x16);
        push_varint(&mut f, zigzag(total));
        f.push(0x19);
        if groups.len() < 15 {
            f.push(((groups.len() as u8) << 4) | STRUCT);
        } else {
            f.push(0xfc);
            push_varint(&mut f, groups.len() as u64);
        }
        for g in groups {
            f.extend(g);
        }
        f.extend([0x28, 3, b'x', b'y', b'z']); // field 6 (delta 2): created_by
        f.push(STOP);
        f
    }

    #[test]
    fn keeps_the_first_groups_holding_enough_rows() {
        let groups: Vec<Vec<u8>> = (0..20).map(|i| group(5, (i % 2 == 0).then_some(i as i16))).collect();
        let head = footer_head(&file(&groups, 100), 12).unwrap();
        assert_eq!((head.num_rows, head.row_groups, head.kept_groups, head.kept_rows), (100, 20, 3, 15));
        assert_eq!(head.footer, file(&groups[..3], 100));
    }

    #[test]
    fn keeps_one_group_when_no_rows_are_asked_for_and_every_group_when_the_file_is_short() {
        let groups: Vec<Vec<u8>> = (0..4).map(|_| group(7, None)).collect();
        let one = footer_head(&file(&groups, 28), 0).unwrap();
        assert_eq!((one.kept_groups, one.kept_rows), (1, 7));
        assert_eq!(one.footer, file(&groups[..1], 28));
        let all = footer_head(&file(&groups, 28), 1_000).unwrap();
        assert_eq!((all.kept_groups, all.kept_rows), (4, 28));
        assert_eq!(all.footer, file(&groups, 28));
    }

    #[test]
    fn a_long_list_header_is_written_back_long() {
        let groups: Vec<Vec<u8>> = (0..40).map(|_| group(1, None)).collect();
        let head = footer_head(&file(&groups, 40), 20).unwrap();
        assert_eq!(head.kept_groups, 20);
        assert_eq!(head.footer, file(&groups[..20], 40));
    }

    #[test]
    fn a_footer_is_read_from_its_file_and_other_files_are_none() {
        let dir = std::env::temp_dir().join(format!("tsqa-footer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let footer = file(&[group(3, None)], 3);
        let mut bytes = b"PAR1".to_vec();
        bytes.extend([0u8; 10]);
        bytes.extend(&footer);
        bytes.extend((footer.len() as u32).to_le_bytes());
        bytes.extend(b"PAR1");
        let good = dir.join("good.parquet");
        std::fs::write(&good, &bytes).unwrap();
        assert_eq!(read_footer(&good), Some(footer.clone()));
        let n = bytes.len();
        bytes[n - 1] = b'E'; // PARE: an encrypted footer
        std::fs::write(dir.join("enc.parquet"), &bytes).unwrap();
        assert_eq!(read_footer(&dir.join("enc.parquet")), None);
        std::fs::write(dir.join("short.parquet"), b"PAR1PAR1").unwrap();
        assert_eq!(read_footer(&dir.join("short.parquet")), None);
        assert_eq!(read_footer(&dir), None); // a folder
        assert_eq!(read_footer(&dir.join("missing.parquet")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_skipped_group_must_hold_its_required_fields() {
        let good = group(5, None);
        // total_byte_size (field 2) written as an i32: Thrift skips it, so it is missing.
        let mut retyped = good.clone();
        retyped[2] = 0x15;
        // With sorting columns {1: 0, 2: true, 3: false}: a well-formed group.
        let mut sorted = good[..good.len() - 1].to_vec();
        sorted.extend([0x19, 0x1c, 0x15, 0x00, 0x11, 0x12, STOP, STOP]);
        assert!(footer_head(&file(&[good.clone(), sorted.clone()], 10), 1).is_ok());
        assert_eq!(
            footer_head(&file(&[good.clone(), retyped.clone()], 10), 1),
            Err(FooterError("a required field is missing"))
        );
        let mut unsorted = sorted.clone();
        unsorted.truncate(unsorted.len() - 4);
        unsorted.extend([0x11, STOP, STOP]); // nulls_first (field 3) missing
        assert!(footer_head(&file(&[good.clone(), unsorted], 10), 1).is_err());
    }

    #[test]
    fn damaged_footers_are_errors_not_panics() {
        let good = file(&[group(3, None), group(4, None)], 7);
        for cut in 0..good.len() {
            assert!(footer_head(&good[..cut], 1).is_err(), "cut at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(footer_head(&trailing, 1).is_err());
        // A list claiming more elements than there are bytes; nesting past the bound.
        assert!(footer_head(&[0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x0f], 1).is_err());
        let mut deep = vec![0x1c; 100]; // struct in struct in struct …
        deep.push(STOP);
        assert!(footer_head(&deep, 1).is_err());
    }
}
