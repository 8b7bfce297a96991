/**
 * The guest's physical memory, as its OS allocates it.
 *
 *   guest-physical frames
 *   0       1 MiB                                total - ptFrames            total
 *   | (BIOS) | data chunks (one guest page each) →       |  page-table frames |
 *
 * The first MiB is left alone, as a PC's firmware area is (not with 1G pages, which would lose a
 * whole gigabyte to it). Data is handed out in chunks of the guest's page size, aligned to it, so a 2 MiB guest page
 * is always 512 contiguous, aligned frames. Page-table pages come from their own region of 4 KiB
 * frames. When data chunks run out the guest OS reclaims one (see guest-kernel.ts); when the
 * page-table region runs out the run stops with an error that says which option to raise.
 *
 * Invariant: a frame is in exactly one of: free, allocated data, free PT, allocated PT.
 */
import { MemvirtError } from "../util/errors";
import { formatBytes } from "../util/units";

/**
 * @internal
 * @example
 * const mem = new GuestMemory(262144, 1, 4096);
 * mem.allocateChunk() // 256 (the first chunk above 1 MiB)
 * mem.allocatePtFrame() // 262143
 */
export class GuestMemory {
  readonly totalFrames: number;
  readonly chunkFrames: number;
  readonly ptFrames: number;
  readonly chunks: number;
  /** Index of the first usable chunk (chunks below it are reserved). */
  readonly firstChunk: number;
  private readonly freeChunks: Int32Array;
  private freeChunkCount: number;
  private readonly freePt: number[] = [];
  private ptNext: number;
  /** Chunks and PT frames in use. */
  chunksInUse = 0;
  ptFramesInUse = 0;

  constructor(totalFrames: number, chunkFrames: number, ptFrames: number) {
    this.totalFrames = totalFrames;
    this.chunkFrames = chunkFrames;
    this.ptFrames = ptFrames;
    this.chunks = Math.floor((totalFrames - ptFrames) / chunkFrames);
    this.firstChunk = chunkFrames <= 512 ? Math.ceil(256 / chunkFrames) : 0;
    if (this.chunks - this.firstChunk < 1) {
      throw new MemvirtError(`guest memory must hold at least one ${formatBytes(chunkFrames * 4096)} page besides ${formatBytes(ptFrames * 4096)} of page tables`, { where: "guestMemory", value: formatBytes(totalFrames * 4096) });
    }
    this.freeChunks = new Int32Array(this.chunks);
    // A stack that pops the lowest chunk first: low addresses are used first, like a fresh boot.
    const usable = this.chunks - this.firstChunk;
    for (let i = 0; i < usable; i++) this.freeChunks[i] = this.chunks - 1 - i;
    this.freeChunkCount = usable;
    this.ptNext = totalFrames - 1;
  }

  /** A free data chunk's index, or -1 when none is free. */
  allocateChunk(): number {
    if (this.freeChunkCount === 0) return -1;
    this.chunksInUse++;
    return this.freeChunks[--this.freeChunkCount];
  }

  /** Free a data chunk. */
  releaseChunk(chunk: number): void {
    this.chunksInUse--;
    this.freeChunks[this.freeChunkCount++] = chunk;
  }

  /** First frame of a chunk. */
  chunkFrame(chunk: number): number {
    return chunk * this.chunkFrames;
  }

  /** The chunk a data frame belongs to. */
  chunkOf(frame: number): number {
    return Math.floor(frame / this.chunkFrames);
  }

  /** A frame for a page-table page. */
  allocatePtFrame(): number {
    this.ptFramesInUse++;
    if (this.freePt.length > 0) return this.freePt.pop() as number;
    if (this.ptNext < this.totalFrames - this.ptFrames) {
      throw new MemvirtError(`the guest ran out of page-table frames (${this.ptFrames} reserved); raise guestPageTableFrames or guestMemory`, { where: "guestPageTableFrames", value: this.ptFrames });
    }
    return this.ptNext--;
  }

  /** Free a page-table frame. */
  releasePtFrame(frame: number): void {
    this.ptFramesInUse--;
    this.freePt.push(frame);
  }
}
