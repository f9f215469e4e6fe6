/**
 * Writing received blocks into a file being applied (atomic-apply.ts): the
 * writes of one file go out one at a time, contiguous blocks as one
 * positional writev, small ones as blocking writes into the page cache (the
 * measurements are at SYNC_WRITE_MAX_BYTES and BlockWriter). Also the
 * positional read of exactly one block (`readAt`) used to reuse local blocks.
 */
import { write, writeSync, writev, read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';

/**
 * Blocks up to this size (small files, mostly) are written with a blocking
 * write(2): it lands in the page cache in microseconds, while the async form
 * cost ~300 µs of event-loop CPU per block on a 2-core VM (thread-pool
 * hand-off under load). Larger blocks stay async: with 1 MiB here, writeback
 * throttling during a 256 MiB transfer through an encrypted peer (which was
 * writing its own 256 MiB) blocked the receiver's event loop for 1.3 s.
 */
export const SYNC_WRITE_MAX_BYTES = 64 * 1024;
/** Most blocks one positional writev takes (well under IOV_MAX; FILE_BLOCK_WINDOW bounds it anyway). */
export const MAX_WRITEV_BUFFERS = 64;
const readFd = promisify(read);
const writeFd = promisify(write);
const writevFd = promisify(writev);

/** Reads exactly `size` bytes at `offset` of an open file (handle or descriptor); null when the file ends first. */
export async function readAt(file: FileHandle | number, offset: number, size: number): Promise<Uint8Array | null> {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } =
      typeof file === 'number' ? await readFd(file, buf, got, size - got, offset + got) : await file.read(buf, got, size - got, offset + got);
    if (bytesRead === 0) return null;
    got += bytesRead;
  }
  return buf;
}

/**
 * The writes of one file, one at a time: concurrent positional writes to one
 * descriptor contend in the kernel and libuv's pool and, measured, cost the
 * event loop ~3x the CPU of the same writes in sequence. Blocks that arrive
 * while a write is running wait, and then go out together: those that are
 * contiguous in the file as one positional writev (at most
 * MAX_WRITEV_BUFFERS). Each async write is a thread-pool round trip, which on
 * a loaded 2-core machine costs the event loop far more than the copy into
 * the page cache itself (bench (a), 256 MiB received: ~1,500 async writes,
 * 0.35 s of the receiver's main thread in writeBuffer).
 *
 * With `batch` (a file of several blocks), an idle writer also waits for the
 * end of the current event-loop turn before it starts: one turn reads
 * everything the socket has (often many blocks), so the blocks completed in
 * it go out as one writev instead of the first alone and the rest after it.
 * Waiting one turn cannot stall anything (setImmediate always runs).
 */
export class BlockWriter {
  private queue: { offset: number; data: Uint8Array; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly fd: number,
    private readonly batch = false,
  ) {}

  /** Resolves once `data` is written at `offset`; rejects with that write's error. */
  write(offset: number, data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ offset, data, resolve, reject });
      if (this.running) return;
      if (this.batch) {
        this.running = true; // the scheduled drain owns the queue from here
        setImmediate(() => void this.drain());
      } else {
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.sort((a, b) => a.offset - b.offset);
      this.queue = [];
      for (let i = 0; i < batch.length; ) {
        let end = batch[i]!.offset + batch[i]!.data.byteLength;
        let j = i + 1;
        while (j < batch.length && j - i < MAX_WRITEV_BUFFERS && batch[j]!.offset === end) end += batch[j++]!.data.byteLength;
        const run = batch.slice(i, j);
        try {
          await writeRunAt(this.fd, run.map((r) => r.data), run[0]!.offset);
          for (const r of run) r.resolve();
        } catch (err) {
          for (const r of run) r.reject(err);
        }
        i = j;
      }
    }
    this.running = false;
  }
}

/** Writes contiguous buffers starting at `offset`: one writev when there are several. */
async function writeRunAt(fd: number, bufs: Uint8Array[], offset: number): Promise<void> {
  if (bufs.length === 1) return writeAllAt(fd, bufs[0]!, offset);
  const total = bufs.reduce((n, b) => n + b.byteLength, 0);
  if (total <= SYNC_WRITE_MAX_BYTES) {
    // Small enough for a blocking write (see SYNC_WRITE_MAX_BYTES); one per buffer.
    let at = offset;
    for (const b of bufs) {
      await writeAllAt(fd, b, at);
      at += b.byteLength;
    }
    return;
  }
  const { bytesWritten } = await writevFd(fd, bufs, offset);
  if (bytesWritten === total) return;
  // A short writev (rare for regular files): finish buffer by buffer.
  let at = offset;
  for (const b of bufs) {
    const end = at + b.byteLength;
    if (end > offset + bytesWritten) {
      const skip = Math.max(0, offset + bytesWritten - at);
      await writeAllAt(fd, b.subarray(skip), at + skip);
    }
    at = end;
  }
}

async function writeAllAt(fd: number, data: Uint8Array, offset: number): Promise<void> {
  if (data.byteLength <= SYNC_WRITE_MAX_BYTES) {
    // See SYNC_WRITE_MAX_BYTES: a blocking write into the page cache is cheaper than a pool round trip.
    let written = 0;
    while (written < data.byteLength) written += writeSync(fd, data, written, data.byteLength - written, offset + written);
    return;
  }
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await writeFd(fd, data, done, data.byteLength - done, offset + done);
    done += bytesWritten;
  }
}
