//! One long-running node process, started through the sandbox ([`crate::sandbox::spawn`]: its own
//! session, rlimits, and for a candidate's node Landlock, seccomp, namespaces and a cgroup), fed lines on
//! stdin by a writer thread (the harness never blocks on a node that stops reading), its stdout read and
//! parsed by a reader thread that reports to the harness's event channel, its stderr drained continuously
//! into a bounded tail, and every process of it killed when the node is dropped. A node restarted by the
//! nemesis is a new incarnation: every event carries the incarnation it came from, so a late event of a
//! killed process is never taken for its successor's. Each node has a data folder of its own (its HOME
//! and working folder), kept across restarts.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ChildStdin;
use std::sync::mpsc::{self, Receiver, SyncSender};
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

/// What a node's reader thread tells the harness: which node (its index), which incarnation of it
/// (0 for the first process, one more for each restart), and what happened.
#[derive(Debug)]
pub struct NodeEvent {
    pub node: usize,
    pub incarnation: u32,
    pub kind: NodeEventKind,
}

#[derive(Debug)]
pub enum NodeEventKind {
    Message(Message),
    Malformed(LineError),
    /// Stdout reached its end (the node exited or closed it) or could not be read.
    Closed,
}

/// Longest stdout line accepted: far beyond any sane message, short of exhausting memory.
pub const MAX_LINE: u64 = 64 << 20;
/// Events a harness may have waiting: beyond this a chatty node waits (its stdout pipe fills) instead of
/// the grader's memory growing.
pub const EVENTS_QUEUED: usize = 16 << 10;
/// How much of stderr is kept.
pub const STDERR_KEPT: usize = 64 << 10;

/// A running node.
pub struct NodeProcess {
    pub id: String,
    pub incarnation: u32,
    process: Spawned,
    input: RefCell<StdinQueue>,
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
    /// Starts incarnation `incarnation` of node number `index`, named `id`, reporting its stdout on `events`.
    pub fn spawn(
        command: &NodeCommand,
        index: usize,
        incarnation: u32,
        id: &str,
        events: SyncSender<NodeEvent>,
    ) -> io::Result<NodeProcess> {
        let mut process = sandbox::spawn(&command.plan(id)?)?;
        let missing = || io::Error::other("node pipe missing");
        let stdin = process.take_stdin().ok_or_else(missing)?;
        let stdout = process.take_stdout().ok_or_else(missing)?;
        let stderr = process.take_stderr().ok_or_else(missing)?;

        sandbox::set_pipe_nonblocking(stdin.as_fd())?;
        let input = RefCell::new(StdinQueue { pipe: Some(stdin), pending: Vec::new(), written: 0 });
        let name = id.to_owned();
        let source = Source { node: index, incarnation };
        spawn_thread(format!("{id}-stdout"), move || read_messages(stdout, source, &name, &events))?;
        let tail = Arc::new(Mutex::new(StderrTail::default()));
        let (done_tx, stderr_done) = mpsc::channel();
        let kept = Arc::clone(&tail);
        spawn_thread(format!("{id}-stderr"), move || {
            drain_stderr(stderr, &kept);
            let _ = done_tx.send(());
        })?;
        Ok(NodeProcess { id: id.to_owned(), incarnation, process, input, stderr: tail, stderr_done })
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

/// Where a reader thread's events come from.
#[derive(Debug, Clone, Copy)]
struct Source {
    node: usize,
    incarnation: u32,
}

impl Source {
    fn event(self, kind: NodeEventKind) -> NodeEvent {
        NodeEvent { node: self.node, incarnation: self.incarnation, kind }
    }
}

fn read_messages(stdout: impl Read, source: Source, name: &str, events: &SyncSender<NodeEvent>) {
    let mut reader = BufReader::with_capacity(64 << 10, stdout);
    let mut line = Vec::with_capacity(1024);
    let mut line_number = 0u64;
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE + 1).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        line_number += 1;
        let event = if line.len() as u64 > MAX_LINE {
            let error = LineError {
                node: name.to_owned(),
                line_number,
                line: String::from_utf8_lossy(&line[..200]).into_owned(),
                reason: format!("a line longer than {} MiB", MAX_LINE >> 20),
            };
            let _ = events.send(source.event(NodeEventKind::Malformed(error)));
            break;
        } else {
            let complete = line.ends_with(b"\n");
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            match parse_line(name, line_number, text) {
                Ok(message) => source.event(NodeEventKind::Message(message)),
                // Output that ends mid-line is a process killed while writing (e.g. over its memory
                // limit): its end, not a malformed message, is what to report.
                Err(_) if !complete => break,
                Err(error) => source.event(NodeEventKind::Malformed(error)),
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
    let _ = events.send(source.event(NodeEventKind::Closed));
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

    #[test]
    fn lines_are_parsed_counted_and_the_end_reported() {
        let (events, received) = mpsc::sync_channel(EVENTS_QUEUED);
        let command = shell(r#"read line; echo "$line"; echo 'not json'; echo oops >&2; exit 3"#);
        let mut node = NodeProcess::spawn(&command, 4, 2, "n4", events).expect("spawn");
        let message = Message { src: "c1".into(), dest: "n4".into(), body: Body::new("ping") };
        node.send(&message);
        node.flush();
        let timeout = Duration::from_secs(20);
        match received.recv_timeout(timeout).expect("first") {
            NodeEvent { node: 4, incarnation: 2, kind: NodeEventKind::Message(echoed) } => assert_eq!(echoed, message),
            other => panic!("{other:?}"),
        }
        match received.recv_timeout(timeout).expect("second") {
            NodeEvent { node: 4, kind: NodeEventKind::Malformed(error), .. } => {
                assert_eq!((error.line_number, error.line.as_str()), (2, "not json"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            received.recv_timeout(timeout),
            Ok(NodeEvent { node: 4, incarnation: 2, kind: NodeEventKind::Closed })
        ));
        assert_eq!(node.wait_exit(timeout), Some(Status::Exited(3)));
        assert_eq!(node.stderr_tail(5), "oops");
    }

    #[test]
    fn dropping_a_node_kills_its_whole_group() {
        let (events, received) = mpsc::sync_channel(EVENTS_QUEUED);
        let node = NodeProcess::spawn(&shell("sleep 300 & sleep 300"), 0, 0, "n0", events).expect("spawn");
        drop(node);
        // Stdout closes only when every process holding it (the background sleep too) is gone.
        let event = received.recv_timeout(Duration::from_secs(20));
        assert!(matches!(event, Ok(NodeEvent { node: 0, kind: NodeEventKind::Closed, .. })), "{event:?}");
    }

    #[test]
    fn a_node_that_stops_reading_never_stalls_the_sender() {
        let (events, _received) = mpsc::sync_channel(EVENTS_QUEUED);
        let node = NodeProcess::spawn(&shell("sleep 300"), 0, 0, "n0", events).expect("spawn");
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
        let (events, received) = mpsc::sync_channel(EVENTS_QUEUED);
        let mut node =
            NodeProcess::spawn(&shell("while read line; do echo \"$line\"; done"), 0, 0, "n0", events).expect("spawn");
        node.pause();
        let message = Message { src: "c1".into(), dest: "n0".into(), body: Body::new("ping") };
        node.send(&message);
        node.flush();
        assert!(received.recv_timeout(Duration::from_millis(300)).is_err(), "a stopped process writes nothing");
        node.resume();
        let event = received.recv_timeout(Duration::from_secs(20)).expect("answer after resume");
        assert!(matches!(event.kind, NodeEventKind::Message(_)), "{event:?}");
        node.kill();
        node.kill();
        let closed = received.recv_timeout(Duration::from_secs(20));
        assert!(matches!(closed, Ok(NodeEvent { kind: NodeEventKind::Closed, .. })), "{closed:?}");
    }
}
