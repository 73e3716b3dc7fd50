//! Little-endian binary files with a trailing xxh3-64 checksum, shared by the persisted indexes.
//! Lengths are checked against the file size before allocating, so a corrupt header cannot
//! trigger a huge allocation.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, Result};

pub struct Writer {
    out: BufWriter<File>,
    hash: Xxh3,
    path: String,
}

impl Writer {
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| io(path, e))?;
        Ok(Writer { out: BufWriter::with_capacity(1 << 20, file), hash: Xxh3::new(), path: path.display().to_string() })
    }
    pub fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.hash.update(b);
        self.out.write_all(b).map_err(|e| Error::Io { path: self.path.clone(), source: e })
    }
    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }
    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub fn u64(&mut self, v: u64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub fn u64s(&mut self, vs: &[u64]) -> Result<()> {
        for chunk in vs.chunks(8192) {
            let buf: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.bytes(&buf)?;
        }
        Ok(())
    }
    pub fn u32s(&mut self, vs: &[u32]) -> Result<()> {
        for chunk in vs.chunks(16384) {
            let buf: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.bytes(&buf)?;
        }
        Ok(())
    }
    pub fn finish(mut self) -> Result<()> {
        let sum = self.hash.digest().to_le_bytes();
        let path = self.path.clone();
        self.out.write_all(&sum).and_then(|_| self.out.flush()).map_err(|e| Error::Io { path, source: e })
    }
}

pub struct Reader {
    input: BufReader<File>,
    hash: Xxh3,
    remaining: u64,
    path: String,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), source: e }
}

impl Reader {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| io(path, e))?;
        let size = file.metadata().map_err(|e| io(path, e))?.len();
        Ok(Reader {
            input: BufReader::with_capacity(1 << 20, file),
            hash: Xxh3::new(),
            remaining: size,
            path: path.display().to_string(),
        })
    }
    fn truncated(&self) -> Error {
        Error::Format(format!("'{}' is truncated or corrupt", self.path))
    }
    pub fn bytes(&mut self, n: usize) -> Result<Vec<u8>> {
        // 8 bytes of checksum always follow the payload.
        if (n as u64).saturating_add(8) > self.remaining {
            return Err(self.truncated());
        }
        let mut buf = vec![0u8; n];
        self.input.read_exact(&mut buf).map_err(|_| self.truncated())?;
        self.remaining -= n as u64;
        self.hash.update(&buf);
        Ok(buf)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(&b);
        Ok(u64::from_le_bytes(a))
    }
    /// A length field, bounded by `max` and by what is left in the file.
    pub fn len(&mut self, max: u64) -> Result<usize> {
        let n = self.u64()?;
        if n > max || n > self.remaining {
            return Err(self.truncated());
        }
        Ok(n as usize)
    }
    pub fn u64s(&mut self, n: usize) -> Result<Vec<u64>> {
        let b = self.bytes(n.checked_mul(8).ok_or_else(|| self.truncated())?)?;
        Ok(b.chunks_exact(8).map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect())
    }
    pub fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        let b = self.bytes(n.checked_mul(4).ok_or_else(|| self.truncated())?)?;
        Ok(b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
    /// Checks the checksum and that nothing follows it.
    pub fn finish(mut self) -> Result<()> {
        let want = self.hash.digest();
        if self.remaining != 8 {
            return Err(self.truncated());
        }
        let mut sum = [0u8; 8];
        self.input.read_exact(&mut sum).map_err(|_| self.truncated())?;
        if u64::from_le_bytes(sum) != want {
            return Err(Error::Format(format!("'{}' fails its checksum (corrupt file)", self.path)));
        }
        Ok(())
    }
}

/// The header every tsqa index file starts with: magic bytes, file format version and the
/// algorithm version of the hashing that built it.
pub struct Header {
    pub magic: &'static [u8; 8],
    pub format_version: u32,
    pub algorithm_version: u32,
    /// What the file is, for messages ("MinHash index").
    pub what: &'static str,
}

impl Header {
    pub fn write(&self, w: &mut Writer) -> Result<()> {
        w.bytes(self.magic)?;
        w.u32(self.format_version)?;
        w.u32(self.algorithm_version)
    }

    /// Reads and checks the header; a foreign file or another format is a format error, another
    /// algorithm version a parameter mismatch (its keys would not match ours).
    pub fn read(&self, r: &mut Reader, path: &Path) -> Result<()> {
        if r.bytes(8)? != self.magic {
            return Err(self.bad(path, "bad magic bytes"));
        }
        let format = r.u32()?;
        if format != self.format_version {
            return Err(self.bad(path, &format!("format version {format}, this build reads {}", self.format_version)));
        }
        let algo = r.u32()?;
        if algo != self.algorithm_version {
            return Err(Error::Mismatch {
                name: "algorithm_version",
                stored: algo.to_string(),
                requested: self.algorithm_version.to_string(),
            });
        }
        Ok(())
    }

    pub fn bad(&self, path: &Path, what: &str) -> Error {
        Error::Format(format!("'{}' is not a tsqa {}: {what}", path.display(), self.what))
    }
}
