//! Reading /proc for the sampler: kept-open files re-read from offset 0,
//! allocation-free parsers of `stat`, `schedstat`, `status`, `smaps_rollup`,
//! `syscall` and `loadavg`, what a blocking system call means, and a
//! `getdents64` listing of the pids in /proc.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use crate::run::thread_states::Seen;

/// Re-reads a kept-open /proc file from its start; `None` once the task is
/// gone.
pub(super) fn reread<'a>(file: &File, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    let n = file.read_at(buf, 0).ok()?;
    (n > 0).then(|| &buf[..n])
}

// The parsers below run for every process and thread at every sample, also
// in unoptimised test builds: plain loops over bytes, no allocation.

/// A decimal number made of the whole of `digits`.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// The fields of `/proc/<pid>/stat` the sampler uses.
pub(super) struct Stat<'a> {
    /// The name (`comm`), raw bytes.
    pub(super) name: &'a [u8],
    /// The state letter (`R` runnable, `S` sleeping, `D` uninterruptible
    /// sleep, ...).
    pub(super) state: u8,
    /// Parent process id.
    pub(super) ppid: u32,
    /// Process group id.
    pub(super) pgrp: u32,
    /// utime + stime, clock ticks.
    pub(super) cpu_ticks: u64,
    /// Threads of the process.
    pub(super) num_threads: usize,
    /// Resident pages.
    pub(super) rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The name may hold spaces and parentheses, so
/// the fields are counted from the last `)`.
pub(super) fn parse_stat(text: &[u8]) -> Option<Stat<'_>> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let name = text.get(open + 1..close)?;
    let state = *text.get(close + 1..)?.iter().find(|&&b| b != b' ')?;
    // Field numbers of proc(5): 3 (the state) is the first after the name.
    const WANTED: [usize; 6] = [4, 5, 14, 15, 20, 24];
    let mut values = [0u64; WANTED.len()];
    let mut found = 0;
    let mut field = 2;
    let mut i = close + 1;
    while i < text.len() && found < WANTED.len() {
        if text[i] == b' ' || text[i] == b'\n' {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && text[i] != b' ' && text[i] != b'\n' {
            i += 1;
        }
        field += 1;
        if field == WANTED[found] {
            values[found] = number(&text[start..i])?;
            found += 1;
        }
    }
    if found < WANTED.len() {
        return None;
    }
    Some(Stat {
        name,
        state,
        ppid: values[0] as u32,
        pgrp: values[1] as u32,
        cpu_ticks: values[2] + values[3],
        num_threads: values[4] as usize,
        rss_pages: values[5],
    })
}

/// Nanoseconds on CPU and nanoseconds runnable but waiting for a core
/// (`run_delay`): the first two fields of `schedstat`.
pub(super) fn parse_schedstat(text: &[u8]) -> Option<(u64, u64)> {
    let mut fields = text
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|f| !f.is_empty());
    let cpu = number(fields.next()?)?;
    let delay = fields.next().and_then(number).unwrap_or(0);
    Some((cpu, delay))
}

/// The value in kB of the line starting with `key` (e.g. `b"VmHWM:"`) of
/// `status` or `smaps_rollup`, in bytes.
pub(super) fn parse_kib_line(text: &[u8], key: &[u8]) -> Option<u64> {
    let mut rest = text;
    loop {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..end];
        if let Some(value) = line.strip_prefix(key) {
            let digits: &[u8] = value
                .split(|&b| b == b' ' || b == b'\t')
                .find(|f| !f.is_empty())?;
            return number(digits)?.checked_mul(1024);
        }
        if end >= rest.len() {
            return None;
        }
        rest = &rest[end + 1..];
    }
}

/// What a blocked thread is doing, from the first field of
/// `/proc/PID/task/TID/syscall`: the number of the system call it is blocked
/// in (`running` when it is on a core, `-1` when blocked outside one).
pub(super) fn parse_blocking_call(text: &[u8]) -> Seen {
    let end = text
        .iter()
        .position(|&b| b == b' ' || b == b'\n')
        .unwrap_or(text.len());
    let first = &text[..end];
    if first == b"running" {
        return Seen::Runnable;
    }
    match number(first).and_then(|n| libc::c_long::try_from(n).ok()) {
        Some(call) => call_kind(call),
        None => Seen::Other,
    }
}

/// Waiting on a lock: a futex (CPython's GIL, mutexes and condition
/// variables all sleep in one).
const LOCK_CALLS: &[libc::c_long] = &[libc::SYS_futex, libc::SYS_futex_waitv];

/// Waiting on I/O: sockets, pipes and files, poll/epoll/select, sleeps.
const IO_CALLS: &[libc::c_long] = &[
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_preadv,
    libc::SYS_pwritev,
    libc::SYS_recvfrom,
    libc::SYS_sendto,
    libc::SYS_recvmsg,
    libc::SYS_sendmsg,
    libc::SYS_recvmmsg,
    libc::SYS_sendmmsg,
    libc::SYS_accept4,
    libc::SYS_connect,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_io_uring_enter,
    libc::SYS_io_getevents,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_poll,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_select,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_epoll_wait,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_accept,
];

/// The kind of wait a blocking system call number stands for.
fn call_kind(call: libc::c_long) -> Seen {
    if LOCK_CALLS.contains(&call) {
        Seen::Lock
    } else if IO_CALLS.contains(&call) {
        Seen::Io
    } else {
        Seen::Other
    }
}

/// The last pid allocated: the last field of `/proc/loadavg`.
pub(super) fn parse_last_pid(text: &[u8]) -> Option<u32> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let start = text.iter().rposition(|&b| b == b' ')? + 1;
    u32::try_from(number(&text[start..])?).ok()
}

/// The numeric entries (pids) of `/proc`, listed with `getdents64` on a
/// directory kept open and rewound, which costs a syscall or two for the
/// whole listing instead of an allocation per entry.
pub(super) struct PidLister {
    dir: File,
    buf: Vec<u8>,
}

impl PidLister {
    pub(super) fn open() -> Option<PidLister> {
        Some(PidLister {
            dir: File::open("/proc").ok()?,
            buf: vec![0; 32 * 1024],
        })
    }

    /// Replaces `out` with the pids listed now; false on failure.
    pub(super) fn list(&mut self, out: &mut Vec<u32>) -> bool {
        out.clear();
        let fd = self.dir.as_raw_fd();
        // SAFETY: lseek on a descriptor we own.
        if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } != 0 {
            return false;
        }
        loop {
            // SAFETY: the buffer is valid for writes of its whole length.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    fd,
                    self.buf.as_mut_ptr(),
                    self.buf.len(),
                )
            };
            if n < 0 {
                return false;
            }
            if n == 0 {
                return true;
            }
            let mut records = &self.buf[..n as usize];
            // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16,
            // d_type u8, then the NUL-terminated name.
            while records.len() >= 19 {
                let reclen = usize::from(u16::from_ne_bytes([records[16], records[17]]));
                if reclen < 19 || reclen > records.len() {
                    return false;
                }
                let name = &records[19..reclen];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                if let Some(pid) = std::str::from_utf8(name).ok().and_then(|s| s.parse().ok()) {
                    out.push(pid);
                }
                records = &records[reclen..];
            }
        }
    }
}

/// Whether `pid` is a process (its own thread group leader), not another
/// thread of one.
pub(super) fn is_process(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:"))
        .and_then(|tgid| tgid.trim().parse::<u32>().ok())
        == Some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_tricky_name_is_parsed() {
        let text = "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 30 0 0 20 0 3 0 12345 1000000 777 18446744073709551615";
        let stat = parse_stat(text.as_bytes()).unwrap();
        assert_eq!(stat.name, b"a) b (c)");
        assert_eq!(stat.state, b'S');
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.pgrp, 4242);
        assert_eq!(stat.cpu_ticks, 280);
        assert_eq!(stat.num_threads, 3);
        assert_eq!(stat.rss_pages, 777);
    }

    #[test]
    fn truncated_stat_is_rejected() {
        assert!(parse_stat(b"4242 (x) S 1 2").is_none());
        assert!(parse_stat(b"garbage").is_none());
        assert!(parse_stat(b"1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3 0 0 20 0 1 0 1 1 1\n").is_none());
    }

    #[test]
    fn status_smaps_and_syscall_are_read() {
        let status =
            b"Name:\tpython3\nVmPeak:\t   14248 kB\nVmHWM:\t   10308 kB\nVmRSS:\t 9000 kB\n";
        assert_eq!(parse_kib_line(status, b"VmHWM:"), Some(10308 * 1024));
        assert_eq!(parse_kib_line(status, b"VmSwap:"), None);
        let smaps = b"55-7f ---p 0 00:00 0   [rollup]\nRss:               10308 kB\nPss:                8743 kB\nPss_Dirty:  1 kB\n";
        assert_eq!(parse_kib_line(smaps, b"Pss:"), Some(8743 * 1024));
        assert_eq!(parse_kib_line(smaps, b"Rss:"), Some(10308 * 1024));
        let futex = format!("{} 0x7f 0x189 0x0\n", libc::SYS_futex);
        assert_eq!(parse_blocking_call(futex.as_bytes()), Seen::Lock);
        let sleep = format!("{} 0x1 0x1\n", libc::SYS_clock_nanosleep);
        assert_eq!(parse_blocking_call(sleep.as_bytes()), Seen::Io);
        let wait = format!("{} 0x1 0x1\n", libc::SYS_wait4);
        assert_eq!(parse_blocking_call(wait.as_bytes()), Seen::Other);
        assert_eq!(parse_blocking_call(b"running\n"), Seen::Runnable);
        assert_eq!(parse_blocking_call(b"-1 0x7ffe 0x7f\n"), Seen::Other);
    }

    #[test]
    fn schedstat_gives_nanoseconds() {
        assert_eq!(
            parse_schedstat(b"438396024 151020337 116\n"),
            Some((438396024, 151020337))
        );
        assert_eq!(parse_schedstat(b""), None);
        assert_eq!(parse_last_pid(b"0.34 0.56 0.27 1/91 19262\n"), Some(19262));
        assert_eq!(parse_last_pid(b"garbage"), None);
    }
}
