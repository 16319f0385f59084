//! One long-running node process, started through the sandbox ([`crate::sandbox::spawn`]: its own
//! session, rlimits, and for a candidate's node Landlock, seccomp, namespaces and a cgroup). Its stdin
//! takes queued lines without blocking (the harness never waits on a node that stops reading); its stdout
//! is read without blocking too, by the harness's own thread when the node has written something, and cut
//! into parsed messages (no thread hand-off per message: on two cores, the wake-ups of a reader thread
//! cost more than the parsing); its stderr is drained continuously into a bounded tail; every process of
//! it is killed when the node is dropped. A node restarted by the nemesis is a new process (a new
//! incarnation) with new pipes, so nothing a killed process wrote is taken for its successor's. Each node
//! has a data folder of its own (its HOME and working folder), kept across restarts.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::process::{ChildStdin, ChildStdout};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::message::{LineError, Message, parse_line};
use crate::sandbox::{self, Confinement, Input, RunLimits, RunPlan, SpawnUsage, Spawned, Status};

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeCommand {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// The folder under which each node gets its own data folder, named after it (its working folder,
    /// HOME and TMPDIR, the same after a restart); the harness's own working folder when `None`.
    pub data: Option<PathBuf>,
    /// The environment besides HOME and TMPDIR: nothing of the grader's own is passed on.
    pub env: Vec<(OsString, OsString)>,
    /// Limits and confinement; a node is a candidate's program unless the grader starts its own.
    pub limits: RunLimits,
    pub confine: Option<Confinement>,
    /// Run as `nobody` when the grader is root.
    pub drop_privileges: bool,
}

impl NodeCommand {
    /// `program args...`, unconfined, with only `PATH` (the grader's) and `LANG=C.UTF-8` in its environment.
    #[must_use]
    pub fn new(program: impl Into<OsString>, args: impl IntoIterator<Item = impl Into<OsString>>) -> NodeCommand {
        let mut env = vec![(OsString::from("LANG"), OsString::from("C.UTF-8"))];
        if let Some(path) = std::env::var_os("PATH") {
            env.push((OsString::from("PATH"), path));
        }
        NodeCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            data: None,
            env,
            limits: RunLimits::default(),
            confine: None,
            drop_privileges: false,
        }
    }

    /// The run plan of node `id`: its data folder made (and handed to `nobody` when runs drop to it).
    fn plan(&self, id: &str) -> io::Result<RunPlan> {
        let cwd = match &self.data {
            Some(data) => {
                let folder = data.join(id);
                // A restarted node finds its folder as it left it.
                if !folder.exists() {
                    std::fs::create_dir_all(folder.join(".tmp"))?;
                    if self.drop_privileges {
                        sandbox::hand_over_folder(data)?;
                        sandbox::hand_over(&folder)?;
                    }
                }
                folder
            }
            None => std::env::current_dir()?,
        };
        let mut env: Vec<(OsString, OsString)> =
            self.env.iter().filter(|(key, _)| key != "HOME" && key != "TMPDIR").cloned().collect();
        if self.data.is_some() {
            env.push(("HOME".into(), cwd.clone().into_os_string()));
            env.push(("TMPDIR".into(), cwd.join(".tmp").into_os_string()));
        }
        Ok(RunPlan {
            program: self.program.clone(),
            args: self.args.clone(),
            cwd,
            env,
            stdin: Input::Null,
            limits: self.limits,
            drop_privileges: self.drop_privileges,
            confine: self.confine.clone(),
        })
    }
}

/// What a node's output means to the harness.
#[derive(Debug)]
pub enum NodeEvent {
    Message(Message),
    Malformed(LineError),
    /// Stdout reached its end (the node exited or closed it) or could not be read.
    Closed,
}

/// Longest stdout line accepted: far beyond any sane message, short of exhausting memory.
pub const MAX_LINE: u64 = 64 << 20;
/// Bytes taken from a node's stdout in one read.
const READ_CHUNK: usize = 64 << 10;
/// Bytes taken from one node per [`NodeProcess::read_output`]: a chatty node cannot keep the harness from
/// the other nodes and its clock, and waits (its stdout pipe fills) instead of the grader's memory growing.
const READ_PER_CALL: usize = 1 << 20;
/// How much of stderr is kept.
pub const STDERR_KEPT: usize = 64 << 10;

/// A running node.
pub struct NodeProcess {
    pub id: String,
    pub incarnation: u32,
    process: Spawned,
    input: RefCell<StdinQueue>,
    output: OutputReader,
    stderr: Arc<Mutex<StderrTail>>,
    stderr_done: Receiver<()>,
}

/// The last bytes a node wrote to stderr, and how many it wrote in all.
#[derive(Debug, Default)]
pub struct StderrTail {
    kept: VecDeque<u8>,
    total: u64,
}

impl StderrTail {
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let bytes = &bytes[bytes.len().saturating_sub(STDERR_KEPT)..];
        let overflow = (self.kept.len() + bytes.len()).saturating_sub(STDERR_KEPT);
        self.kept.drain(..overflow);
        self.kept.extend(bytes);
    }

    /// The kept tail as text, its last `lines` lines at most, marked when earlier output was cut.
    #[must_use]
    pub fn last_lines(&self, lines: usize) -> String {
        let bytes: Vec<u8> = self.kept.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.trim_end().lines().collect();
        let shown = &all[all.len().saturating_sub(lines)..];
        let cut = shown.len() < all.len() || self.total > self.kept.len() as u64;
        let mut out = String::new();
        if cut {
            out.push_str("...\n");
        }
        out.push_str(&shown.join("\n"));
        out
    }
}

impl NodeProcess {
    /// Starts incarnation `incarnation` (0 for the first process, one more for each restart) of node `id`.
    pub fn spawn(command: &NodeCommand, incarnation: u32, id: &str) -> io::Result<NodeProcess> {
        let mut process = sandbox::spawn(&command.plan(id)?)?;
        let missing = || io::Error::other("node pipe missing");
        let stdin = process.take_stdin().ok_or_else(missing)?;
        let stdout = process.take_stdout().ok_or_else(missing)?;
        let stderr = process.take_stderr().ok_or_else(missing)?;

        sandbox::set_pipe_nonblocking(stdin.as_fd())?;
        sandbox::set_pipe_nonblocking(stdout.as_fd())?;
        let input = RefCell::new(StdinQueue { pipe: Some(stdin), pending: Vec::new(), written: 0 });
        let output = OutputReader::new(stdout);
        let tail = Arc::new(Mutex::new(StderrTail::default()));
        let (done_tx, stderr_done) = mpsc::channel();
        let kept = Arc::clone(&tail);
        spawn_thread(format!("{id}-stderr"), move || {
            drain_stderr(stderr, &kept);
            let _ = done_tx.send(());
        })?;
        Ok(NodeProcess { id: id.to_owned(), incarnation, process, input, output, stderr: tail, stderr_done })
    }

    /// The descriptor to wait on for output; `None` once its end was reported.
    #[must_use]
    pub fn output_fd(&self) -> Option<BorrowedFd<'_>> {
        self.output.pipe.as_ref().map(AsFd::as_fd)
    }

    /// Reads what the node wrote, without waiting, and appends what it means to `events`: a message per
    /// line, a malformed line, and [`NodeEvent::Closed`] once at the end of its output.
    pub fn read_output(&mut self, events: &mut Vec<NodeEvent>) {
        self.output.read(&self.id, events);
    }

    /// Queues a message for the node's stdin; [`NodeProcess::flush`] writes what is queued. A node that is
    /// gone is reported by its reader, not here.
    pub fn send(&self, message: &Message) {
        let mut input = self.input.borrow_mut();
        if input.pipe.is_some() {
            message.write_line(&mut input.pending);
        }
    }

    /// Writes as much of the queue as the node's stdin takes without waiting: the rest stays queued for
    /// the next call, so a node that stops reading never stalls the harness. Batching the writes of one
    /// round of the harness's loop, and writing from its own thread, spare a thread hand-off per message.
    pub fn flush(&self) {
        self.input.borrow_mut().flush();
    }

    /// Whether messages are queued that the node has not taken yet.
    #[must_use]
    pub fn has_pending(&self) -> bool {
        let input = self.input.borrow();
        input.pipe.is_some() && input.written < input.pending.len()
    }

    /// How the node ended, if it has.
    pub fn exit_status(&mut self) -> Option<Status> {
        self.process.try_wait().ok().flatten()
    }

    /// Waits up to `limit` for the node to end (after its stdout closed, exit usually follows at once).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<Status> {
        let deadline = Instant::now() + limit;
        let status = self.process.wait_timeout(limit).ok().flatten()?;
        // Let the stderr thread read what the node wrote last.
        let _ = self.stderr_done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        Some(status)
    }

    /// CPU time and peak memory so far (final once it ended), and the limit it hit, if any.
    #[must_use]
    pub fn usage(&self) -> SpawnUsage {
        self.process.usage()
    }

    /// The last lines of its stderr.
    #[must_use]
    pub fn stderr_tail(&self, lines: usize) -> String {
        self.stderr.lock().map(|tail| tail.last_lines(lines)).unwrap_or_default()
    }

    /// Kills every process of the node (SIGKILL, paused or not) and reaps them. Idempotent.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Stops every process of the node until [`NodeProcess::resume`].
    pub fn pause(&mut self) {
        let _ = self.process.pause();
    }

    /// Lets a paused node run again.
    pub fn resume(&mut self) {
        let _ = self.process.resume();
    }
}

fn spawn_thread(name: String, work: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new().name(name).spawn(work).map(drop)
}

/// A node's stdin (non-blocking) and what is queued for it.
struct StdinQueue {
    /// `None` once the node stopped taking input (a broken pipe).
    pipe: Option<ChildStdin>,
    pending: Vec<u8>,
    /// How much of `pending` is written.
    written: usize,
}

impl StdinQueue {
    fn flush(&mut self) {
        let Some(pipe) = self.pipe.as_mut() else { return };
        while self.written < self.pending.len() {
            match pipe.write(&self.pending[self.written..]) {
                Ok(0) => break,
                Ok(n) => self.written += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.pipe = None;
                    self.pending = Vec::new();
                    self.written = 0;
                    return;
                }
            }
        }
        if self.written == self.pending.len() {
            self.pending.clear();
            self.written = 0;
        } else if self.written > PENDING_COMPACTED_AT {
            self.pending.drain(..self.written);
            self.written = 0;
        }
    }
}

/// Written bytes kept at the front of a node's queue before they are dropped from it.
const PENDING_COMPACTED_AT: usize = 1 << 20;

/// A node's stdout (non-blocking) and the start of a line it has not finished yet.
struct OutputReader {
    /// `None` once its end was reported.
    pipe: Option<ChildStdout>,
    chunk: Vec<u8>,
    partial: Vec<u8>,
    line_number: u64,
}

impl OutputReader {
    fn new(pipe: ChildStdout) -> OutputReader {
        OutputReader { pipe: Some(pipe), chunk: vec![0; READ_CHUNK], partial: Vec::new(), line_number: 0 }
    }

    fn read(&mut self, name: &str, events: &mut Vec<NodeEvent>) {
        let Some(pipe) = self.pipe.as_mut() else { return };
        let mut taken = 0;
        let ended = loop {
            if taken >= READ_PER_CALL {
                break false;
            }
            match pipe.read(&mut self.chunk) {
                Ok(0) => break true,
                Ok(n) => {
                    taken += n;
                    let Self { chunk, partial, line_number, .. } = self;
                    if let Err(error) = cut_lines(name, line_number, partial, &chunk[..n], events) {
                        events.push(NodeEvent::Malformed(error));
                        break true;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        if ended {
            // Output that ends mid-line is a process killed while writing (e.g. over its memory limit): its
            // end, not a malformed message, is what to report.
            if !self.partial.is_empty()
                && let Ok(message) = parse_line(name, self.line_number + 1, trim_line_end(&self.partial))
            {
                events.push(NodeEvent::Message(message));
            }
            self.partial = Vec::new();
            self.pipe = None;
            events.push(NodeEvent::Closed);
        }
    }
}

/// Appends the messages of the whole lines in `partial` + `bytes` to `events` and keeps the unfinished
/// rest in `partial`. A line longer than [`MAX_LINE`] is an error: nothing after it is read.
fn cut_lines(
    name: &str,
    line_number: &mut u64,
    partial: &mut Vec<u8>,
    mut bytes: &[u8],
    events: &mut Vec<NodeEvent>,
) -> Result<(), LineError> {
    while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
        *line_number += 1;
        let line = if partial.is_empty() {
            &bytes[..end]
        } else {
            partial.extend_from_slice(&bytes[..end]);
            &partial[..]
        };
        if line.len() as u64 > MAX_LINE {
            return Err(too_long(name, *line_number, line));
        }
        events.push(match parse_line(name, *line_number, trim_line_end(line)) {
            Ok(message) => NodeEvent::Message(message),
            Err(error) => NodeEvent::Malformed(error),
        });
        partial.clear();
        bytes = &bytes[end + 1..];
    }
    partial.extend_from_slice(bytes);
    if partial.len() as u64 > MAX_LINE {
        return Err(too_long(name, *line_number + 1, partial));
    }
    Ok(())
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn too_long(name: &str, line_number: u64, line: &[u8]) -> LineError {
    LineError {
        node: name.to_owned(),
        line_number,
        line: String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned(),
        reason: format!("a line longer than {} MiB", MAX_LINE >> 20),
    }
}

fn drain_stderr(mut stderr: impl Read, tail: &Mutex<StderrTail>) {
    let mut buffer = vec![0u8; 16 << 10];
    loop {
        match stderr.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                if let Ok(mut tail) = tail.lock() {
                    tail.push(&buffer[..n]);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::protocol::message::Body;

    fn shell(script: &str) -> NodeCommand {
        NodeCommand::new("sh", ["-c", script])
    }

    #[test]
    fn the_stderr_tail_keeps_the_last_bytes_and_marks_the_cut() {
        let mut tail = StderrTail::default();
        for i in 0..20_000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        let shown = tail.last_lines(2);
        assert_eq!(shown, "...\nline 19998\nline 19999");
        assert!(tail.kept.len() <= STDERR_KEPT);
    }

    /// What the node writes within `timeout`, up to its end.
    fn output_within(node: &mut NodeProcess, timeout: Duration, wanted: usize) -> Vec<NodeEvent> {
        let deadline = Instant::now() + timeout;
        let mut events = Vec::new();
        while events.len() < wanted && Instant::now() < deadline {
            let Some(fd) = node.output_fd() else { break };
            sandbox::wait_readable(&[fd], deadline.saturating_duration_since(Instant::now())).expect("poll");
            node.read_output(&mut events);
        }
        events
    }

    #[test]
    fn lines_are_parsed_counted_and_the_end_reported() {
        let command = shell(r#"read line; echo "$line"; echo 'not json'; echo oops >&2; exit 3"#);
        let mut node = NodeProcess::spawn(&command, 2, "n4").expect("spawn");
        let message = Message { src: "c1".into(), dest: "n4".into(), body: Body::new("ping") };
        node.send(&message);
        node.flush();
        let timeout = Duration::from_secs(20);
        let events = output_within(&mut node, timeout, 3);
        match &events[..] {
            [NodeEvent::Message(echoed), NodeEvent::Malformed(error), NodeEvent::Closed] => {
                assert_eq!(echoed, &message);
                assert_eq!((error.line_number, error.line.as_str()), (2, "not json"));
            }
            other => panic!("{other:?}"),
        }
        assert!(node.output_fd().is_none());
        assert_eq!(node.wait_exit(timeout), Some(Status::Exited(3)));
        assert_eq!(node.stderr_tail(5), "oops");
    }

    #[test]
    fn lines_split_across_reads_are_joined_and_a_torn_last_line_is_not_malformed() {
        let mut events = Vec::new();
        let (mut partial, mut line_number) = (Vec::new(), 0);
        let text = "{\"src\":\"n0\",\"dest\":\"c1\",\"body\":{\"type\":\"a\"}}\r\n";
        let (first, second) = text.split_at(17);
        cut_lines("n0", &mut line_number, &mut partial, first.as_bytes(), &mut events).unwrap();
        assert!(events.is_empty());
        cut_lines("n0", &mut line_number, &mut partial, format!("{second}{{\"src").as_bytes(), &mut events).unwrap();
        assert!(matches!(&events[..], [NodeEvent::Message(m)] if m.body.kind == "a"), "{events:?}");
        assert_eq!((line_number, partial.as_slice()), (1, b"{\"src".as_slice()));

        let mut node = NodeProcess::spawn(&shell(r#"printf '{"src":"n0","dest":"c1","bo'; exit 0"#), 0, "n0").unwrap();
        let events = output_within(&mut node, Duration::from_secs(20), 1);
        assert!(matches!(&events[..], [NodeEvent::Closed]), "{events:?}");
    }

    #[test]
    fn a_line_over_the_limit_is_reported_once_and_ends_the_reading() {
        let mut events = Vec::new();
        let (mut partial, mut line_number) = (Vec::new(), 3);
        let long = vec![b'x'; (MAX_LINE + 1) as usize];
        let error = cut_lines("n2", &mut line_number, &mut partial, &long, &mut events).unwrap_err();
        assert_eq!((error.node.as_str(), error.line_number, error.line.len()), ("n2", 4, 200));
        assert!(error.reason.contains("longer than 64 MiB"), "{}", error.reason);
    }

    #[test]
    fn dropping_a_node_kills_its_whole_group() {
        let mut node = NodeProcess::spawn(&shell("sleep 300 & echo $!; sleep 300"), 0, "n0").expect("spawn");
        // The background sleep's pid comes back as a (malformed) line.
        let events = output_within(&mut node, Duration::from_secs(20), 1);
        let [NodeEvent::Malformed(line)] = &events[..] else { panic!("{events:?}") };
        let background = std::path::Path::new("/proc").join(&line.line);
        assert!(background.exists(), "{}", line.line);
        drop(node);
        // A zombie waiting for its reaper is gone too.
        let alive = || std::fs::read_to_string(background.join("stat")).is_ok_and(|stat| !stat.contains(") Z "));
        let deadline = Instant::now() + Duration::from_secs(20);
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(), "the background sleep {} outlived its node", line.line);
    }

    #[test]
    fn a_node_that_stops_reading_never_stalls_the_sender() {
        let node = NodeProcess::spawn(&shell("sleep 300"), 0, "n0").expect("spawn");
        let body = Body::new("ping").with("pad", "x".repeat(1000));
        let message = Message { src: "c1".into(), dest: "n0".into(), body };
        // Far more than a pipe holds: the rest waits in the queue instead of blocking this thread.
        for _ in 0..1000 {
            node.send(&message);
            node.flush();
        }
        assert!(node.has_pending());
    }

    #[test]
    fn a_paused_node_answers_only_after_it_is_resumed() {
        let mut node = NodeProcess::spawn(&shell("while read line; do echo \"$line\"; done"), 0, "n0").expect("spawn");
        node.pause();
        let message = Message { src: "c1".into(), dest: "n0".into(), body: Body::new("ping") };
        node.send(&message);
        node.flush();
        let events = output_within(&mut node, Duration::from_millis(300), 1);
        assert!(events.is_empty(), "a stopped process writes nothing: {events:?}");
        node.resume();
        let events = output_within(&mut node, Duration::from_secs(20), 1);
        assert!(matches!(&events[..], [NodeEvent::Message(_)]), "{events:?}");
        node.kill();
        node.kill();
        let closed = output_within(&mut node, Duration::from_secs(20), 1);
        assert!(matches!(&closed[..], [NodeEvent::Closed]), "{closed:?}");
    }
}
