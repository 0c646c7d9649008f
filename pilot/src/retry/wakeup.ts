/**
 * A wake-up call for a loop that pauses until something happens: `wake()`
 * aborts the current signal and arms a fresh one, so the next pause waits again.
 */
// abort() without a reason builds a DOMException each time; nobody reads this one.
const WOKEN = new Error('woken');

export class Wakeup {
  private controller = new AbortController();

  /** The signal to pause on; aborted (and replaced) by the next `wake()`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  wake(): void {
    const c = this.controller;
    this.controller = new AbortController();
    c.abort(WOKEN);
  }
}
