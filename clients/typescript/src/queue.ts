// A push-to-pull queue: the producer pushes items, ends or fails it (a failure, e.g. a cancel, is
// seen at the next pull, ahead of items not pulled yet); one consumer pulls with an async iterator. `onReturn` runs when the consumer stops early (break out of for-await).

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;

  constructor(private readonly onReturn?: () => void) {}

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** Ends with an error, dropping what was not pulled yet: the consumer's next pull throws. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.items = [];
    this.failure = { error };
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;  // thrown once, then the iterator is simply done
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    const wasOpen = !this.ended;
    this.items = [];
    this.failure = undefined;
    this.end();
    if (wasOpen) this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
