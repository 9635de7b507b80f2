// Live data by polling: one request every `interval` ms while anyone listens, and
// listeners are called only when the answer changed (so re-rendering does not fight
// with keyboard focus every two seconds). `refresh()` asks again at once, e.g. after an
// action. Polling (not a stream) keeps the server side stateless; 2 s is "live" enough
// for approvals and presence.

export type Listener<T> = (data: T) => void;

export class Feed<T> {
  private listeners = new Set<Listener<T>>();
  private errorListeners = new Set<(error: unknown) => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last: string | null = null;
  private data: T | null = null;
  private inflight: Promise<void> | null = null;

  constructor(private readonly load: () => Promise<T>, private readonly interval = 2000) {}

  subscribe(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    if (this.data !== null) listener(this.data);
    if (this.listeners.size === 1) void this.refresh();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  onError(listener: (error: unknown) => void): void {
    this.errorListeners.add(listener);
  }

  get current(): T | null {
    return this.data;
  }

  /** Fetch now (joining a fetch already under way), then keep polling. */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.inflight = this.fetchOnce().finally(() => {
      this.inflight = null;
      if (this.listeners.size > 0) this.timer = setTimeout(() => void this.refresh(), this.interval);
    });
    return this.inflight;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async fetchOnce(): Promise<void> {
    let data: T;
    try {
      data = await this.load();
    } catch (error) {
      for (const listener of this.errorListeners) listener(error);
      return;
    }
    const text = JSON.stringify(data);
    if (text === this.last) return;
    this.last = text;
    this.data = data;
    for (const listener of this.listeners) listener(data);
  }
}
