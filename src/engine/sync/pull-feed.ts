/**
 * PullFeed: the files phase of a pull pass as an open queue. It runs the
 * pass's files `limit` at a time like runLimited, but when the queue runs dry
 * it asks its source for more (records that arrived during the pass) instead
 * of ending the pass, and a worker with nothing to do waits for notify() (new
 * records) as long as another worker is still busy.
 *
 * Why: while a peer is still scanning, its records arrive in many small index
 * updates. With a closed list per pass, each pass ended on its slowest file (a
 * 64 MiB file fetched alone at the end) while the records that had arrived
 * meanwhile waited for the next pass: in bench (g) the receiver's passes grew
 * 9, 32, 194, 277, 724, 1,060, 2,372 paths and it sat partly idle during the
 * sender's scan. The phase ends when every worker is out of work at once.
 */

export interface FeedSource<T> {
  /** Whether more() may find something new now (cheap; called when the queue is dry). */
  ready(): boolean;
  /** Further items to run (may be empty). */
  more(): Promise<readonly T[]>;
}

export class PullFeed<T> {
  private wakeUp: (() => void) | null = null;
  private wakeAt: Promise<void> | null = null;

  /** Something may have arrived: waiting workers look again. */
  notify(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    this.wakeAt = null;
    wake?.();
  }

  private sleep(): Promise<void> {
    return (this.wakeAt ??= new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    }));
  }

  /** Runs `fn` over `items` and whatever `source` adds, at most `limit` at a time. */
  async run(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, source: FeedSource<T>, signal: AbortSignal): Promise<void> {
    const queue = [...items];
    let next = 0;
    let waiting = 0;
    let done = false;
    let topping = false;
    const finish = () => {
      done = true;
      this.notify();
    };
    const worker = async (): Promise<void> => {
      try {
        while (!done) {
          if (signal.aborted) return finish();
          if (next < queue.length) {
            await fn(queue[next++]!);
            continue;
          }
          if (!topping && source.ready()) {
            topping = true;
            try {
              queue.push(...(await source.more()));
            } finally {
              topping = false;
              this.notify(); // the others take what it found
            }
            continue;
          }
          // Everyone else is waiting too (and no top-up runs): the phase is over.
          if (!topping && waiting === limit - 1) return finish();
          waiting++;
          await this.sleep();
          waiting--;
        }
      } catch (err) {
        finish();
        throw err;
      }
    };
    signal.addEventListener('abort', finish, { once: true });
    try {
      await Promise.all(Array.from({ length: limit }, worker));
    } finally {
      signal.removeEventListener('abort', finish);
    }
  }
}
