// A small typed event emitter whose events can also be read as async
// iterators over a bounded queue.

type Handler<T> = (ev: T) => void;

/** DefaultQueue is how many events an iterator buffers before it drops the oldest. */
export const DefaultQueue = 1024;

export class Emitter<M extends object> {
  private handlers = new Map<keyof M, Set<Handler<never>>>();
  /** events dropped from full iterator queues, by event name */
  readonly dropped = new Map<keyof M, number>();
  private enders = new Set<() => void>();

  /** on calls fn for every event named name until the returned function is called. */
  on<K extends keyof M>(name: K, fn: Handler<M[K]>): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(fn as Handler<never>);
    return () => {
      set.delete(fn as Handler<never>);
    };
  }

  /** once resolves with the next event named name. */
  once<K extends keyof M>(name: K): Promise<M[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (ev) => {
        off();
        resolve(ev);
      });
    });
  }

  /** emit calls every handler of name; a handler that throws does not stop the others. */
  emit<K extends keyof M>(name: K, ev: M[K]): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Handler<M[K]>)(ev);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /**
   * events returns an async iterator over the events named name from now
   * on. Its queue holds at most max events; when full the oldest is
   * dropped and counted in dropped. It ends when signal aborts or its
   * return() is called (a for-await loop's break).
   */
  events<K extends keyof M>(name: K, opts: { max?: number; signal?: AbortSignal } = {}): AsyncIterableIterator<M[K]> {
    const max = opts.max ?? DefaultQueue;
    const queue: M[K][] = [];
    const waiters: Array<(r: IteratorResult<M[K]>) => void> = [];
    let done = false;
    // stop ends the iterator: waiting next() calls resolve as done; with
    // drain, events already queued are still handed out first.
    const stop = (drain: boolean): IteratorResult<M[K]> => {
      done = true;
      off();
      opts.signal?.removeEventListener("abort", abort);
      this.enders.delete(end);
      if (!drain) queue.length = 0;
      for (const w of waiters.splice(0)) w({ value: undefined, done: true });
      return { value: undefined, done: true };
    };
    const abort = () => stop(false);
    const end = () => stop(true);
    const off = this.on(name, (ev) => {
      const w = waiters.shift();
      if (w) {
        w({ value: ev, done: false });
        return;
      }
      if (queue.length >= max) {
        queue.shift();
        this.dropped.set(name, (this.dropped.get(name) ?? 0) + 1);
      }
      queue.push(ev);
    });
    this.enders.add(end);
    if (opts.signal?.aborted) abort();
    else opts.signal?.addEventListener("abort", abort, { once: true });
    const it: AsyncIterableIterator<M[K]> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiters.push(resolve));
      },
      return: () => Promise.resolve(abort()),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /**
   * end finishes every open iterator (the source is gone: a room left or
   * closed, a client closed): each hands out what it had queued, then ends.
   */
  end(): void {
    for (const e of [...this.enders]) e();
  }
}
