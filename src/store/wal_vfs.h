#pragma once

#include <cstdint>

namespace cairn::store {

/// The name of the SQLite VFS every Conn opens its database with, registered on the first call
/// (any thread). It is SQLite's default VFS ("unix") with one difference: the frames a
/// transaction appends to the write-ahead log are gathered in memory and reach the file in one
/// pwrite, instead of SQLite's two per page (a 24-byte frame header, then the page). A commit of
/// an apply group writes ~100 pages; that was ~200 system calls, each paying the file system's
/// per-write cost (issue 21 §3, docs/storage.md "Writing the WAL").
///
/// When the bytes are written: with the page of a transaction's commit frame (the frame whose
/// header carries the database size), inside SQLite's commit and before SQLite publishes it, so
/// that a failure is SQLite's to report and roll back; before anything else touches the WAL file
/// through the same handle (read, sync, truncate, size, close); when a write does not continue
/// the gathered run; and at 1 MiB gathered. A commit header SQLite rewrites after the commit
/// frame (walRewriteChecksums) is written at the shared-memory barrier behind which SQLite
/// publishes the commit. When the WAL's write lock is released the transaction is over: what is
/// still gathered belongs to no commit (a rolled-back transaction's spilled frames) and is
/// dropped.
///
/// Reads: the last 8 MiB written to a WAL file (by inode) stay in memory, and a read of them —
/// the checkpoint copying frames into the database, a reader fetching a recently written page —
/// is a memcpy instead of a pread.
///
/// Failures: a run that fails to write (ENOSPC, EIO) is reported to SQLite by the call that wrote
/// it — for a commit, the write of its commit frame — and the transaction rolls back as it did
/// with SQLite's own VFS; the transaction's later writes fail until its write lock is released
/// (none of its frames may follow lost ones). A failure at the barrier (the rewritten header:
/// bytes already allocated) cannot be reported: the process stops at once with exit code
/// kDeferredWalWriteExitCode, like after a failed write of the Raft log (docs/wal.md "Disk
/// faults"); the transaction was not visible yet, and the Raft log applies it again after the
/// restart.
const char* wal_vfs_name();

/// Exit code after a deferred WAL write failed: 74, EX_IOERR of sysexits.h (the Raft log's too).
inline constexpr int kDeferredWalWriteExitCode = 74;

/// Counters for tests: pwrite calls the WAL handles made, the frames' bytes they carried, and
/// reads answered from the bytes last written (no pread).
struct WalVfsCounters {
  uint64_t writes = 0;
  uint64_t bytes = 0;
  uint64_t cached_reads = 0;
};
WalVfsCounters wal_vfs_counters();

}  // namespace cairn::store
