//! `sandbox::spawn` through namespaces: unit tests leave that layer off (it is the grader's `main` that
//! enables it), so this test binary enables it itself.

use std::io::{BufRead, BufReader, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use takehome::report::LimitHit;
use takehome::sandbox::{self, Confinement, Input, RunLimits, RunPlan, Status, namespaces, probe};

/// Whether the namespace layer is on (it is not where user namespaces are forbidden: nothing to test).
fn with_namespaces() -> bool {
    namespaces::enable();
    if let Err(why) = namespaces::available() {
        // Said, so a run where these tests prove nothing is visible as such (e.g. a checkout nobody can reach).
        eprintln!("skipped: the namespace layer is off here: {why}");
    }
    probe::layers().namespaces
}

fn plan(program: &str, args: &[&str], workdir: &std::path::Path) -> RunPlan {
    RunPlan {
        program: program.into(),
        args: args.iter().map(Into::into).collect(),
        cwd: workdir.to_path_buf(),
        env: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()), ("HOME".into(), workdir.into())],
        stdin: Input::Null,
        limits: RunLimits::default(),
        drop_privileges: true,
        confine: Some(Confinement::run(workdir.to_path_buf())),
    }
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    sandbox::hand_over(dir.path()).unwrap();
    dir
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')').is_some_and(|end| !stat[end + 2..].starts_with('Z'))
}

/// Every process below `pid`, from /proc/<pid>/task/*/children.
fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut index = 0;
    while index < all.len() {
        let current = all[index];
        index += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{current}/task")) else { continue };
        for task in tasks.flatten() {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            all.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    all
}

#[test]
fn a_node_in_namespaces_echoes_pauses_resumes_and_ends() {
    if !with_namespaces() {
        return;
    }
    let dir = workdir();
    let mut node = sandbox::spawn(&plan("cat", &[], dir.path())).unwrap();
    let mut stdin = node.take_stdin().unwrap();
    let mut stdout = BufReader::new(node.take_stdout().unwrap());
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = lines_tx.send(std::mem::take(&mut line));
        }
    });
    stdin.write_all(b"one\n").unwrap();
    assert_eq!(lines.recv_timeout(Duration::from_secs(10)).unwrap(), "one\n");
    node.pause().unwrap();
    stdin.write_all(b"two\n").unwrap();
    assert!(lines.recv_timeout(Duration::from_millis(300)).is_err(), "a paused node answered");
    node.resume().unwrap();
    assert_eq!(lines.recv_timeout(Duration::from_secs(10)).unwrap(), "two\n");
    drop(stdin);
    assert_eq!(node.wait_timeout(Duration::from_secs(10)).unwrap(), Some(Status::Exited(0)));
    assert_eq!(node.usage().limit_hit, None);
}

#[test]
fn killing_a_node_in_namespaces_leaves_nothing() {
    if !with_namespaces() {
        return;
    }
    let dir = workdir();
    let script = "sleep 300 & setsid sleep 300 & echo ready; wait";
    let mut node = sandbox::spawn(&plan("sh", &["-c", script], dir.path())).unwrap();
    let mut stdout = BufReader::new(node.take_stdout().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // The trampoline, the namespace's init, sh and its two sleeps.
    let pids = tree(node.pid());
    assert!(pids.len() >= 5, "{pids:?}");
    node.kill();
    assert!(pids.iter().all(|&pid| !alive(pid)), "{pids:?} still there");
    assert_eq!(node.try_wait().unwrap(), Some(Status::Signaled(libc::SIGKILL)));
}

#[test]
fn a_node_in_namespaces_over_its_memory_is_killed_and_reported() {
    if !with_namespaces() || !std::path::Path::new("/usr/bin/python3").exists() {
        return;
    }
    let dir = workdir();
    let grow = "import time\nx = []\nwhile True:\n x.append(bytearray(8 << 20))\n time.sleep(0.005)";
    let mut plan = plan("/usr/bin/python3", &["-c", grow], dir.path());
    plan.limits.memory = Some(64 << 20);
    let mut node = sandbox::spawn(&plan).unwrap();
    assert_eq!(node.wait_timeout(Duration::from_secs(30)).unwrap(), Some(Status::Signaled(libc::SIGKILL)));
    assert_eq!(node.usage().limit_hit, Some(LimitHit::Memory), "{:?}", node.usage());
}

#[test]
fn a_busy_node_in_namespaces_shows_its_cpu_time() {
    if !with_namespaces() {
        return;
    }
    let dir = workdir();
    let mut node = sandbox::spawn(&plan("sh", &["-c", "while :; do :; done"], dir.path())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut cpu = Duration::ZERO;
    while cpu < Duration::from_millis(100) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        cpu = node.usage().cpu_time.unwrap_or_default();
    }
    assert!(cpu >= Duration::from_millis(100), "{cpu:?}");
    node.kill();
}

#[test]
fn through_namespaces_a_missing_program_is_an_error_and_statuses_are_the_program_s() {
    if !with_namespaces() {
        return;
    }
    let dir = workdir();
    let error = sandbox::run(&plan("/nonexistent/program", &[], dir.path())).expect_err("nothing to run");
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
    let exited = sandbox::run(&plan("sh", &["-c", "exit 7"], dir.path())).expect("runs");
    assert_eq!(exited.status, Status::Exited(7));
    let signaled = sandbox::run(&plan("sh", &["-c", "kill -SEGV $$"], dir.path())).expect("runs");
    assert_eq!(signaled.status, Status::Signaled(libc::SIGSEGV), "the program's own signal, not init's");
}

#[test]
fn a_run_with_a_low_descriptor_limit_starts_while_the_grader_holds_more_descriptors_than_that() {
    if !with_namespaces() {
        return;
    }
    // Descriptors 0..=200 or so are the test harness's; these fill the numbers up past the run's limit.
    let held: Vec<std::fs::File> = (0..300).filter_map(|_| std::fs::File::open("/dev/null").ok()).collect();
    assert_eq!(held.len(), 300, "the test could not open its descriptors");
    let dir = workdir();
    let mut run = plan("sh", &["-c", "echo started"], dir.path());
    run.limits.open_files = Some(64);
    let outcome = sandbox::run(&run).expect("the run starts");
    assert_eq!(outcome.status, Status::Exited(0), "{}", String::from_utf8_lossy(&outcome.stderr));
    assert_eq!(outcome.stdout, b"started\n");
}

#[test]
fn through_namespaces_the_program_execs_as_command_would() {
    if !with_namespaces() {
        return;
    }
    let dir = workdir();
    let script = dir.path().join("no-shebang");
    std::fs::write(&script, "echo from sh\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let outcome = sandbox::run(&plan(script.to_str().unwrap(), &[], dir.path())).expect("runs through /bin/sh");
    assert_eq!(outcome.stdout, b"from sh\n", "{}", String::from_utf8_lossy(&outcome.stderr));
    let data = dir.path().join("not-executable");
    std::fs::write(&data, "echo never\n").unwrap();
    let error = sandbox::run(&plan(data.to_str().unwrap(), &[], dir.path())).expect_err("not executable");
    assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied, "{error}");
    let error = sandbox::spawn(&plan("/nonexistent/node", &[], dir.path())).err().expect("nothing to spawn");
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
    let busy = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done";
    let outcome = sandbox::run(&plan("sh", &["-c", busy], dir.path())).expect("runs");
    assert!(outcome.cpu_time >= Duration::from_millis(20), "the program's CPU time: {:?}", outcome.cpu_time);
}

#[test]
fn runs_reuse_empty_network_namespaces_but_never_share_one_at_a_time() {
    if !with_namespaces() || !std::path::Path::new("/usr/bin/python3").exists() {
        return;
    }
    let dir = workdir();
    let text = |outcome: &sandbox::Outcome| String::from_utf8_lossy(&outcome.stdout).trim().to_string();
    let read_link = plan("readlink", &["/proc/self/ns/net"], dir.path());
    let first = text(&sandbox::run(&read_link).unwrap());
    let grader = std::fs::read_link("/proc/self/ns/net").unwrap().to_string_lossy().into_owned();
    assert!(first.starts_with("net:["), "{first}");
    assert_ne!(first, grader, "the grader's network is not theirs");

    // A run that holds an abstract socket name while another runs: the other is in another namespace,
    // where the name is free and nobody listens.
    let listen = "import os, socket\nprint(os.readlink('/proc/self/ns/net'), flush=True)\ns = socket.socket(socket.AF_UNIX)\ns.bind('\\0takehome-test-abstract')\ns.listen()\nprint('listening', flush=True)\ns.accept()";
    let mut listener = sandbox::spawn(&plan("/usr/bin/python3", &["-c", listen], dir.path())).unwrap();
    let mut stdout = BufReader::new(listener.take_stdout().unwrap());
    let (mut namespace, mut line) = (String::new(), String::new());
    stdout.read_line(&mut namespace).unwrap();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "listening\n");
    let other = "import os, socket\nprint(os.readlink('/proc/self/ns/net'))\ns = socket.socket(socket.AF_UNIX)\ntry:\n s.connect('\\0takehome-test-abstract')\n print('connected')\nexcept OSError as e:\n print(e.errno)\nt = socket.socket(socket.AF_UNIX)\nt.bind('\\0takehome-test-abstract')\nprint('bound')";
    let outcome = sandbox::run(&plan("/usr/bin/python3", &["-c", other], dir.path())).unwrap();
    let expected = format!("{}\n{}\nbound", "", libc::ECONNREFUSED);
    let got = text(&outcome);
    let (their_namespace, rest) = got.split_once('\n').unwrap_or_default();
    assert_ne!(their_namespace, namespace.trim(), "two runs at once never share a network namespace");
    assert_eq!(format!("\n{rest}"), expected, "{}", String::from_utf8_lossy(&outcome.stderr));
    listener.kill();
}

#[test]
fn a_layered_working_folder_leaves_the_folder_on_disk_as_it_was_and_caps_what_is_written() {
    if !with_namespaces() {
        return;
    }
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = workdir();
    std::fs::write(dir.path().join("in.txt"), "input\n").unwrap();
    // The run's own (runs as root are `nobody`'s), as a file it made would be.
    sandbox::hand_over(&dir.path().join("in.txt")).unwrap();
    std::fs::write(dir.path().join("gone.txt"), "delete me\n").unwrap();
    let script = "cat in.txt > copy.txt; echo more >> in.txt; rm gone.txt; echo out > out.txt; \
                  head -c 2000000 /dev/zero > big || echo big-refused; \
                  i=0; while [ $i -lt 80 ]; do touch f$i 2>/dev/null || { echo files-refused; break; }; i=$((i+1)); done; \
                  cat in.txt";
    let mut run = plan("sh", &["-c", script], dir.path());
    run.confine.as_mut().unwrap().scratch = Some(sandbox::Scratch { bytes: 1 << 20, inodes: 40 });
    let outcome = sandbox::run(&run).expect("runs");
    let stdout = String::from_utf8_lossy(&outcome.stdout);
    assert_eq!(stdout, "big-refused\nfiles-refused\ninput\nmore\n", "{}", String::from_utf8_lossy(&outcome.stderr));
    // The folder on disk is as the grader left it.
    assert_eq!(std::fs::read_to_string(dir.path().join("in.txt")).unwrap(), "input\n");
    assert!(dir.path().join("gone.txt").exists());
    assert!(!dir.path().join("out.txt").exists() && !dir.path().join("copy.txt").exists());
    // What the program wrote comes back.
    let folder = outcome.written.expect("what the program wrote comes back");
    let written = std::path::PathBuf::from(format!("/proc/self/fd/{}", folder.as_raw_fd()));
    assert_eq!(std::fs::read_to_string(written.join("out.txt")).unwrap(), "out\n");
    assert_eq!(std::fs::read_to_string(written.join("copy.txt")).unwrap(), "input\n");
    assert_eq!(std::fs::read_to_string(written.join("in.txt")).unwrap(), "input\nmore\n");
    let deleted = std::fs::symlink_metadata(written.join("gone.txt")).unwrap();
    assert!(deleted.file_type().is_char_device() && deleted.rdev() == 0, "a whiteout marks the deletion");
}

#[test]
fn a_working_folder_of_empty_folders_becomes_a_tmpfs_with_the_same_folders() {
    if !with_namespaces() {
        return;
    }
    use std::os::fd::AsRawFd;
    let dir = workdir();
    let tmp = dir.path().join(".tmp");
    std::fs::create_dir(&tmp).unwrap();
    sandbox::hand_over(&tmp).unwrap();
    let script = "echo out > out.txt && echo scratch > .tmp/x && grep -c tmpfs /proc/self/mounts >/dev/null && \
                  stat -f -c %T . && ls -A";
    let mut run = plan("sh", &["-c", script], dir.path());
    run.confine.as_mut().unwrap().scratch = Some(sandbox::Scratch { bytes: 1 << 20, inodes: 64 });
    let outcome = sandbox::run(&run).expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&outcome.stdout),
        "tmpfs\n.tmp\nout.txt\n",
        "{}",
        String::from_utf8_lossy(&outcome.stderr)
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from(".tmp")], "the folder on disk is as it was");
    assert!(std::fs::read_dir(&tmp).unwrap().next().is_none());
    let folder = outcome.written.expect("what the program wrote comes back");
    let written = std::path::PathBuf::from(format!("/proc/self/fd/{}", folder.as_raw_fd()));
    assert_eq!(std::fs::read_to_string(written.join("out.txt")).unwrap(), "out\n");
    assert_eq!(std::fs::read_to_string(written.join(".tmp/x")).unwrap(), "scratch\n");
}

#[test]
fn through_namespaces_the_cpu_time_of_an_orphan_counts_as_the_run_s() {
    if !with_namespaces() {
        return;
    }
    let dir = workdir();
    // The spinning shell is orphaned at once (its parent subshell ends) and reaped by init; the program
    // only waits, through `cat`, for the orphan to close the pipe.
    let spin = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo spun";
    let script = format!("( sh -c '{spin}' & ) | cat");
    let outcome = sandbox::run(&plan("sh", &["-c", &script], dir.path())).expect("runs");
    assert_eq!(outcome.stdout, b"spun\n", "{}", String::from_utf8_lossy(&outcome.stderr));
    assert!(outcome.cpu_time >= Duration::from_millis(20), "the orphan's CPU time: {:?}", outcome.cpu_time);
}

#[test]
fn where_the_layers_cannot_be_mounted_the_program_writes_the_folder_on_disk() {
    if !with_namespaces() {
        return;
    }
    let dir = workdir();
    std::fs::write(dir.path().join("in.txt"), "input\n").unwrap();
    let mut run = plan("sh", &["-c", "cat in.txt && echo out > out.txt"], dir.path());
    // One inode is the tmpfs's root: the upper folder cannot be made, so neither layer stays.
    run.confine.as_mut().unwrap().scratch = Some(sandbox::Scratch { bytes: 1 << 20, inodes: 1 });
    let outcome = sandbox::run(&run).expect("runs");
    assert_eq!(outcome.stdout, b"input\n", "{}", String::from_utf8_lossy(&outcome.stderr));
    assert!(outcome.success(), "{outcome:?}");
    assert!(outcome.written.is_none());
    assert_eq!(std::fs::read_to_string(dir.path().join("out.txt")).unwrap(), "out\n");
}

#[test]
fn a_run_not_as_root_shares_the_pooled_user_namespace_without_capabilities_and_root_gets_its_own() {
    if !with_namespaces() || !std::path::Path::new("/usr/bin/python3").exists() {
        return;
    }
    // Prints the user namespaces that own the network namespace and the process, the parent of the
    // latter ("outside" when it is out of the process's sight), and the process's capability sets.
    let script = r#"import fcntl, os
def ns(fd, request):
    try:
        other = fcntl.ioctl(fd, request, 0)
    except PermissionError:
        return "outside"
    return os.readlink(f"/proc/self/fd/{other}")
net = os.open("/proc/self/ns/net", os.O_RDONLY)
user = os.open("/proc/self/ns/user", os.O_RDONLY)
caps = [line.split()[1] for line in open("/proc/self/status") if line.startswith(("CapInh", "CapPrm", "CapEff", "CapAmb"))]
print(ns(net, 0xb701), os.readlink("/proc/self/ns/user"), ns(user, 0xb702), *caps)"#;
    let dir = workdir();
    let fields = |plan: &RunPlan| {
        let outcome = sandbox::run(plan).unwrap();
        assert!(outcome.success(), "{}", String::from_utf8_lossy(&outcome.stderr));
        String::from_utf8_lossy(&outcome.stdout).split_whitespace().map(str::to_string).collect::<Vec<_>>()
    };
    let mut unprivileged = plan("/usr/bin/python3", &["-c", script], dir.path());
    // Through setuid when the test is root; as the test's own user otherwise.
    unprivileged.drop_privileges = true;
    let seen = fields(&unprivileged);
    {
        assert_eq!(seen.len(), 7, "{seen:?}");
        assert_eq!(seen[0], seen[1], "the run is in the user namespace that owns its network: {seen:?}");
        assert_eq!(seen[2], "outside", "{seen:?}");
        assert!(seen[3..].iter().all(|caps| caps == "0000000000000000"), "no capability after the exec: {seen:?}");
    }
    if sandbox::is_root() {
        let mut root = plan("/usr/bin/python3", &["-c", script], dir.path());
        root.drop_privileges = false;
        let seen = fields(&root);
        assert_eq!(seen.len(), 7, "{seen:?}");
        // Its capabilities are in a user namespace of its own, below the one that owns its network.
        assert_eq!(seen[0], "outside", "root's network is owned by a user namespace above its own: {seen:?}");
        assert_ne!(seen[1], seen[0], "{seen:?}");
    }
}

#[test]
fn a_process_of_the_run_killed_for_the_groups_memory_makes_the_run_mle_though_the_program_succeeds() {
    if !with_namespaces() || !probe::layers().cgroup || !std::path::Path::new("/usr/bin/python3").exists() {
        return;
    }
    // The child is the largest process (the OOM killer's choice); it then fills a memfd, which no
    // process's resident size shows (so polling does not stop the run), until the group is full.
    let script = r#"import os
pid = os.fork()
if pid == 0:
    held = bytearray(100 << 20)
    fd = os.memfd_create("fill")
    chunk = b"x" * (1 << 20)
    while True:
        os.write(fd, chunk)
_, status = os.waitpid(pid, 0)
print("pong", status)"#;
    let dir = workdir();
    let mut plan = plan("/usr/bin/python3", &["-c", script], dir.path());
    plan.limits.memory = Some(128 << 20);
    plan.limits.wall_time = Duration::from_secs(20);
    let outcome = sandbox::run(&plan).unwrap();
    let stdout = String::from_utf8_lossy(&outcome.stdout);
    assert_eq!(outcome.limit_hit, Some(LimitHit::Memory), "{outcome:?}\n{stdout}");
    if outcome.status == Status::Exited(0) {
        // The program went on after its child was killed: the case this test is about.
        assert!(stdout.starts_with("pong 9"), "the child died by SIGKILL: {stdout}");
    }
}

#[test]
fn a_run_as_root_cannot_change_the_mode_of_files_outside_its_folders() {
    use std::os::unix::fs::PermissionsExt;
    if !with_namespaces() || !sandbox::is_root() || !std::path::Path::new("/usr/bin/python3").exists() {
        return;
    }
    // Landlock does not cover a file's mode: root owns this file, so only the read-only host stops it.
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "s").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let script = format!(
        r#"import errno, os
open("mine", "w").write("x")
os.chmod("mine", 0o755)
try:
    os.chmod("{}", 0o4777)
    print("changed")
except OSError as e:
    print(errno.errorcode[e.errno])"#,
        secret.display()
    );
    // Root's own folder, as a build's is (not handed over to nobody).
    let dir = tempfile::tempdir().unwrap();
    let mut root = plan("/usr/bin/python3", &["-c", &script], dir.path());
    root.drop_privileges = false;
    let outcome = sandbox::run(&root).unwrap();
    assert!(outcome.success(), "{}", String::from_utf8_lossy(&outcome.stderr));
    assert_eq!(String::from_utf8_lossy(&outcome.stdout).trim(), "EROFS");
    assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o7777, 0o600);
    assert_eq!(std::fs::metadata(dir.path().join("mine")).unwrap().permissions().mode() & 0o777, 0o755);
}
