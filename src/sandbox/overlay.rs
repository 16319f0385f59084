//! A case run's working folder layered over a fresh tmpfs (through namespaces): the folder on disk
//! below, unchanged, and everything the program writes above, capped in size and files. Init mounts
//! both layers before the program starts and sends the upper folder to the grader over a Unix socket,
//! which reads the run's output files from it. A folder that holds nothing but empty folders (inputs
//! come on stdin) needs no lower layer: the tmpfs alone, with the same empty folders, is mounted there
//! (an overlay mount costs a tenth of a millisecond: it tries out its upper file system).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::namespaces::check;

/// A run's working folder layered over a fresh tmpfs (see [`super::Confinement::scratch`]), prepared
/// before the fork: init mounts a tmpfs on the folder (the folder on disk stays reachable through a
/// descriptor opened first), and over it an overlay of the folder on disk (below) and the tmpfs (above).
pub struct Overlay {
    folder: CString,
    tmpfs_options: CString,
    upper: CString,
    work: CString,
    /// `upperdir=...,workdir=...`; the `lowerdir` (a descriptor of init's) is put in front at run time.
    options_tail: Vec<u8>,
    /// Where init sends the upper folder (a Unix socket; the grader keeps the other end).
    pub sender: RawFd,
    /// Without a lower layer (the folder on disk holds only these empty folders): the tmpfs alone.
    tmpfs_only: Option<Vec<CString>>,
}

impl Overlay {
    pub fn new(folder: &std::path::Path, scratch: super::Scratch, sender: RawFd) -> io::Result<Overlay> {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let c_string = |bytes: &[u8]| CString::new(bytes).map_err(|_| io::Error::other("a path holds a nul byte"));
        // Mount options are separated by commas, overlay's folders by colons, and both escaped by `\`.
        if folder.as_os_str().as_bytes().iter().any(|b| b",:\\".contains(b)) {
            return Err(io::Error::other("the working folder's path holds a character mount options cannot carry"));
        }
        let path = |name: &str| folder.join(name).into_os_string().into_vec();
        let options_tail = [b",upperdir=".as_slice(), &path("u"), b",workdir=", &path("w")].concat();
        let tmpfs_only = empty_folders_only(folder)
            .map(|names| names.iter().map(|name| c_string(&path(name))).collect::<io::Result<Vec<_>>>())
            .transpose()?;
        Ok(Overlay {
            folder: c_string(folder.as_os_str().as_bytes())?,
            tmpfs_options: c_string(
                format!("size={},nr_inodes={},mode=0700", scratch.bytes, scratch.inodes).as_bytes(),
            )?,
            upper: c_string(&path("u"))?,
            work: c_string(&path("w"))?,
            options_tail,
            sender,
            tmpfs_only,
        })
    }

    /// The working folder's path.
    pub fn folder(&self) -> &std::ffi::CStr {
        &self.folder
    }

    /// In init, after /proc is mounted: mounts the tmpfs (and the overlay over it, with a lower layer),
    /// sends the folder of what the program writes to the grader, and enters the mounted folder.
    /// Async-signal-safe. On an error (a kernel that refuses overlays in user namespaces, before Linux
    /// 5.11), the tmpfs is taken off again: the program then writes the folder on disk, as without
    /// namespaces.
    pub(super) unsafe fn mount(&self) -> io::Result<()> {
        // SAFETY: system calls on C strings made before the fork.
        unsafe {
            let written = match &self.tmpfs_only {
                Some(folders) => self.on_tmpfs(|| {
                    for folder in folders {
                        check(libc::mkdir(folder.as_ptr(), 0o755))?;
                    }
                    open_folder(&self.folder, libc::O_RDONLY)
                })?,
                None => self.mount_layers()?,
            };
            send_descriptor(self.sender, written)?;
            libc::close(written);
            self.enter()
        }
    }

    /// Mounts the tmpfs on the folder and does `then`; takes the tmpfs off again if `then` fails.
    unsafe fn on_tmpfs<T>(&self, then: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let tmpfs = c"tmpfs".as_ptr();
        let (folder, options) = (self.folder.as_ptr(), self.tmpfs_options.as_ptr().cast());
        // SAFETY: mount and umount2 on C strings made before the fork.
        unsafe {
            check(libc::mount(tmpfs, folder, tmpfs, libc::MS_NOSUID | libc::MS_NODEV, options))?;
            then().inspect_err(|_| {
                libc::umount2(folder, libc::MNT_DETACH);
            })
        }
    }

    /// The tmpfs, and over it an overlay of the folder on disk (below) and the tmpfs (above); returns the
    /// upper folder, open. The options are assembled in a stack buffer: the lower layer is a descriptor.
    unsafe fn mount_layers(&self) -> io::Result<RawFd> {
        const PREFIX: &[u8] = b"lowerdir=/proc/self/fd/";
        let below = open_folder(&self.folder, libc::O_PATH)?;
        // SAFETY: system calls on C strings made before the fork and on our stack buffer.
        let upper = unsafe {
            self.on_tmpfs(|| {
                check(libc::mkdir(self.upper.as_ptr(), 0o755))?;
                check(libc::mkdir(self.work.as_ptr(), 0o700))?;
                let upper = open_folder(&self.upper, libc::O_RDONLY)?;
                let mut options = [0u8; 8192];
                let mut length = 0;
                for part in [PREFIX, digits(below as u32).as_bytes(), &self.options_tail] {
                    let end = length + part.len();
                    if end >= options.len() {
                        libc::close(upper);
                        return Err(io::Error::other("mount options too long"));
                    }
                    options[length..end].copy_from_slice(part);
                    length = end;
                }
                let overlay = c"overlay".as_ptr();
                let flags = libc::MS_NOSUID | libc::MS_NODEV;
                if let Err(error) =
                    check(libc::mount(overlay, self.folder.as_ptr(), overlay, flags, options.as_ptr().cast()))
                {
                    libc::close(upper);
                    return Err(error);
                }
                Ok(upper)
            })
        };
        // SAFETY: our own descriptor, not used after.
        unsafe { libc::close(below) };
        upper
    }

    /// Makes the mounted folder init's working folder, and so the program's (a clone of init): the
    /// current one was the folder on disk, now under the mounts.
    unsafe fn enter(&self) -> io::Result<()> {
        // SAFETY: chdir on a C string made before the fork.
        check(unsafe { libc::chdir(self.folder.as_ptr()) })?;
        Ok(())
    }
}

/// Opens the folder `path` (`access`: O_RDONLY or O_PATH). Async-signal-safe.
fn open_folder(path: &std::ffi::CStr, access: libc::c_int) -> io::Result<RawFd> {
    // SAFETY: open on a C string made before the fork.
    check(unsafe { libc::open(path.as_ptr(), access | libc::O_DIRECTORY | libc::O_CLOEXEC) })
}

/// The names in `folder` when every one is an empty folder (none is a link); `None` otherwise.
fn empty_folders_only(folder: &std::path::Path) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(folder).ok()? {
        let entry = entry.ok()?;
        let empty_folder = entry.file_type().ok()?.is_dir() && std::fs::read_dir(entry.path()).ok()?.next().is_none();
        if !empty_folder {
            return None;
        }
        names.push(entry.file_name().into_string().ok()?);
    }
    Some(names)
}

/// The decimal digits of `n`, without allocating.
struct Digits {
    bytes: [u8; 10],
    start: usize,
}

impl Digits {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn digits(mut n: u32) -> Digits {
    let mut bytes = [0u8; 10];
    let mut start = bytes.len();
    loop {
        start -= 1;
        bytes[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return Digits { bytes, start };
        }
    }
}

/// Room for one descriptor's control message (SCM_RIGHTS), aligned as `cmsghdr` needs.
#[repr(C)]
struct Control {
    header: libc::cmsghdr,
    fd: RawFd,
    _pad: [u8; 4],
}

/// A message of one byte (`byte`) with `control` as its control message.
fn message(iov: &mut libc::iovec, control: &mut Control) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is a valid value of this plain C struct.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = iov;
    message.msg_iovlen = 1;
    message.msg_control = std::ptr::from_mut(control).cast();
    message.msg_controllen = std::mem::size_of::<Control>() as _;
    message
}

/// Sends `fd` over the Unix socket `socket` (SCM_RIGHTS). Async-signal-safe.
unsafe fn send_descriptor(socket: RawFd, fd: RawFd) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: an all-zero cmsghdr is valid; the header is then filled in for one descriptor.
    let mut control = Control { header: unsafe { std::mem::zeroed() }, fd, _pad: [0; 4] };
    // SAFETY: CMSG_LEN only computes a length.
    control.header.cmsg_len = unsafe { libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) } as _;
    control.header.cmsg_level = libc::SOL_SOCKET;
    control.header.cmsg_type = libc::SCM_RIGHTS;
    let message = message(&mut iov, &mut control);
    // SAFETY: the message points at our iovec and control message, alive for the call.
    if unsafe { libc::sendmsg(socket, &message, libc::MSG_NOSIGNAL) } != 1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// After the run: the folder of what it wrote, if init sent it. `receiver` is the grader's end of the
/// socket given to [`Overlay::new`].
pub fn receive_written(receiver: &OwnedFd) -> Option<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: an all-zero cmsghdr is valid; recvmsg fills it in.
    let mut control = Control { header: unsafe { std::mem::zeroed() }, fd: -1, _pad: [0; 4] };
    let mut message = message(&mut iov, &mut control);
    // SAFETY: the message points at our iovec and control message, alive for the call.
    let got = unsafe { libc::recvmsg(receiver.as_raw_fd(), &mut message, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    if got != 1 || control.header.cmsg_type != libc::SCM_RIGHTS || control.header.cmsg_level != libc::SOL_SOCKET {
        return None;
    }
    // SAFETY: a descriptor the kernel just gave us, owned by nobody else.
    Some(unsafe { OwnedFd::from_raw_fd(control.fd) })
}
