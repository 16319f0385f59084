//! The write-ahead log: every event a node counts, appended to `events.wal` in its data folder before any
//! reply or acknowledgement that depends on it leaves the node, and replayed when the node starts again.
//!
//! A record is `[payload length: u32][checksum of the payload: u32][payload]`. The records of one round of
//! the main loop are gathered in memory and written with one `write` (group commit); only then are that
//! round's replies written. A `write` that returned survives the process being killed, so without fsync
//! an acknowledged event survives a SIGKILL (not a power cut: set `EVENT_WAL_FSYNC=1` to fsync each group,
//! which costs one disk flush per round, not per request). A process killed in the middle of a write leaves
//! a torn last record: replay stops at the first record whose length or checksum is wrong and cuts the file
//! there. Nothing in a torn record was acknowledged.
//!
//! Payloads, by their first byte:
//! - `SERIES app name`: the next series number is (app, name); written before any event that uses it.
//! - `LOCAL facts`: events this node accepted from clients, in the order it numbered them for gossip.
//! - `PEER origin next facts`: events learnt from `origin`'s gossip (only those new here), after which the
//!   node has every event `origin` numbered below `next`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::codec::{put_facts, put_text, put_varint, read_facts, CodecError, Fact, Reader};

const SERIES: u8 = 1;
const LOCAL: u8 = 2;
const PEER: u8 = 3;
/// Events are logged at most this many to a record, so a record stays far below `MAX_RECORD`.
const FACTS_PER_RECORD: usize = 8192;
/// Far more than any record holds (8192 events of at most about 40 bytes); a larger length is a corrupt
/// header, not a reason to allocate.
const MAX_RECORD: u32 = 16 << 20;

/// One record, as replay hands it over.
#[derive(Debug, PartialEq)]
pub enum Record<'a> {
    Series { app: &'a str, name: &'a str },
    Local(Vec<Fact>),
    Peer { origin: &'a str, next: u64, facts: Vec<Fact> },
}

pub struct Wal {
    file: File,
    pending: Vec<u8>,
    fsync: bool,
    /// Bytes in the file.
    size: u64,
}

/// FNV-1a over the payload: catches a torn record, which is all it is for.
fn checksum(payload: &[u8]) -> u32 {
    payload.iter().fold(0x811c_9dc5u32, |hash, &byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

fn decode<'a>(payload: &'a [u8], series_count: &mut usize) -> Result<Record<'a>, CodecError> {
    let mut reader = Reader::new(payload);
    let record = match reader.u8()? {
        SERIES => {
            let (app, name) = (reader.text()?, reader.text()?);
            *series_count += 1;
            Record::Series { app, name }
        }
        LOCAL => Record::Local(read_facts(&mut reader, *series_count)?),
        PEER => {
            let origin = reader.text()?;
            let next = reader.varint()?;
            Record::Peer { origin, next, facts: read_facts(&mut reader, *series_count)? }
        }
        _ => return Err(CodecError("an unknown record kind")),
    };
    if !reader.is_empty() {
        return Err(CodecError("bytes after the record"));
    }
    Ok(record)
}

/// Reads `[length][checksum][payload]`; `Ok(None)` at a clean end or at a torn record.
fn read_record(reader: &mut impl Read, payload: &mut Vec<u8>) -> io::Result<Option<()>> {
    let mut header = [0u8; 8];
    if !read_exact_or_end(reader, &mut header)? {
        return Ok(None);
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let sum = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD {
        return Ok(None);
    }
    payload.resize(len as usize, 0);
    if !read_exact_or_end(reader, payload)? || checksum(payload) != sum {
        return Ok(None);
    }
    Ok(Some(()))
}

/// Fills `buffer`; false if the input ends first.
fn read_exact_or_end(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<bool> {
    match reader.read_exact(buffer) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error),
    }
}

impl Wal {
    /// Opens (or creates) the log at `path`, hands every intact record to `apply` in order, cuts a torn
    /// tail, and returns the log ready for appends.
    pub fn open(path: &Path, fsync: bool, mut apply: impl FnMut(Record<'_>)) -> io::Result<Wal> {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let mut size = 0u64;
        let mut series_count = 0usize;
        {
            let mut reader = BufReader::with_capacity(1 << 20, &mut file);
            let mut payload = Vec::new();
            while read_record(&mut reader, &mut payload)?.is_some() {
                match decode(&payload, &mut series_count) {
                    Ok(record) => apply(record),
                    Err(error) => {
                        eprintln!(
                            "{}: a record at byte {size} does not decode ({error}); the log ends there",
                            path.display()
                        );
                        break;
                    }
                }
                size += 8 + payload.len() as u64;
            }
        }
        let on_disk = file.metadata()?.len();
        if on_disk != size {
            eprintln!("{}: cutting a torn tail of {} bytes at byte {size}", path.display(), on_disk - size);
            file.set_len(size)?;
        }
        // The reader read ahead: appends go right after the last intact record.
        file.seek(SeekFrom::Start(size))?;
        Ok(Wal { file, pending: Vec::new(), fsync, size })
    }

    fn append(&mut self, payload: impl FnOnce(&mut Vec<u8>)) {
        let start = self.pending.len();
        self.pending.extend_from_slice(&[0; 8]);
        payload(&mut self.pending);
        let body = &self.pending[start + 8..];
        let (len, sum) = (body.len() as u32, checksum(body));
        self.pending[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.pending[start + 4..start + 8].copy_from_slice(&sum.to_le_bytes());
    }

    pub fn series(&mut self, app: &str, name: &str) {
        self.append(|out| {
            out.push(SERIES);
            put_text(out, app);
            put_text(out, name);
        });
    }

    pub fn local(&mut self, facts: &[Fact]) {
        for chunk in facts.chunks(FACTS_PER_RECORD) {
            self.append(|out| {
                out.push(LOCAL);
                put_facts(out, chunk.iter(), |series| series);
            });
        }
    }

    pub fn peer(&mut self, origin: &str, next: u64, facts: &[Fact]) {
        let chunks = facts.len().div_ceil(FACTS_PER_RECORD).max(1);
        for (i, chunk) in facts.chunks(FACTS_PER_RECORD).chain(facts.is_empty().then_some(facts)).enumerate() {
            // Only the last record moves `next` (replay keeps the largest): if a kill tears the write after
            // an earlier one, the node must not believe it holds events it never logged.
            let next = if i + 1 == chunks { next } else { 0 };
            self.append(|out| {
                out.push(PEER);
                put_text(out, origin);
                put_varint(out, next);
                put_facts(out, chunk.iter(), |series| series);
            });
        }
    }

    /// Writes what was appended since the last commit, in one write.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.pending)?;
        if self.fsync {
            self.file.sync_data()?;
        }
        self.size += self.pending.len() as u64;
        self.pending.clear();
        // A round after a burst of gossip may have grown the buffer a lot: give most of it back.
        if self.pending.capacity() > 4 << 20 {
            self.pending.shrink_to(1 << 20);
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("event-wal-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp folder");
        dir
    }

    fn owned(record: Record<'_>) -> String {
        format!("{record:?}")
    }

    #[test]
    fn records_come_back_in_order_after_a_reopen() {
        let path = folder("order").join("events.wal");
        let facts = vec![Fact { id: 1, ts: 5, series: 0, user: 9 }, Fact { id: 2, ts: 4, series: 0, user: 8 }];
        {
            let mut wal = Wal::open(&path, false, |_| panic!("a new log is empty")).expect("opens");
            wal.series("app", "name");
            wal.local(&facts);
            wal.commit().expect("writes");
            wal.peer("n1", 17, &facts[..1]);
            wal.commit().expect("writes");
        }
        let mut seen = Vec::new();
        let wal = Wal::open(&path, false, |record| seen.push(owned(record))).expect("reopens");
        assert_eq!(
            seen,
            vec![
                owned(Record::Series { app: "app", name: "name" }),
                owned(Record::Local(facts.clone())),
                owned(Record::Peer { origin: "n1", next: 17, facts: facts[..1].to_vec() }),
            ]
        );
        assert_eq!(wal.size(), std::fs::metadata(&path).expect("exists").len());
    }

    #[test]
    fn a_large_batch_is_split_and_only_its_last_record_moves_next() {
        let path = folder("split").join("events.wal");
        let facts: Vec<Fact> =
            (0..(FACTS_PER_RECORD as u64 * 2 + 5)).map(|id| Fact { id, ts: 1, series: 0, user: 2 }).collect();
        {
            let mut wal = Wal::open(&path, false, |_| {}).expect("opens");
            wal.series("app", "name");
            wal.local(&facts);
            wal.peer("n1", 99, &facts);
            wal.peer("n2", 7, &[]);
            wal.commit().expect("writes");
        }
        let (mut local, mut peer, mut nexts) = (0, 0, Vec::new());
        Wal::open(&path, false, |record| match record {
            Record::Local(facts) => local += facts.len(),
            Record::Peer { origin, next, facts } => {
                peer += facts.len();
                nexts.push((origin.to_owned(), next));
            }
            Record::Series { .. } => {}
        })
        .expect("reopens");
        assert_eq!((local, peer), (facts.len(), facts.len()));
        let expected = [("n1", 0), ("n1", 0), ("n1", 99), ("n2", 7)].map(|(o, n)| (o.to_owned(), n));
        assert_eq!(nexts, expected.to_vec());
    }

    #[test]
    fn a_torn_tail_is_cut_and_appends_continue_after_it() {
        let path = folder("torn").join("events.wal");
        let fact = [Fact { id: 1, ts: 5, series: 0, user: 9 }];
        {
            let mut wal = Wal::open(&path, false, |_| {}).expect("opens");
            wal.series("app", "name");
            wal.local(&fact);
            wal.commit().expect("writes");
        }
        let whole = std::fs::metadata(&path).expect("exists").len();
        for cut in [whole - 1, whole - 10] {
            let bytes = std::fs::read(&path).expect("reads");
            std::fs::write(&path, &bytes[..cut as usize]).expect("cuts");
            let mut count = 0;
            let mut wal = Wal::open(&path, false, |_| count += 1).expect("opens a torn log");
            assert_eq!(count, 1, "only the series record survives a cut at {cut}");
            wal.local(&fact);
            wal.commit().expect("writes");
            let mut kinds = Vec::new();
            Wal::open(&path, false, |record| kinds.push(matches!(record, Record::Local(_)))).expect("reopens");
            assert_eq!(kinds, vec![false, true]);
        }
    }
}
