/** A wake-up call for a loop that sleeps until something happens: `wake()` aborts the current signal. */
export class Wakeup {
  private controller = new AbortController();

  /** The signal to sleep on; aborted (and replaced) by the next `wake()`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  wake(): void {
    const c = this.controller;
    this.controller = new AbortController();
    c.abort();
  }
}
