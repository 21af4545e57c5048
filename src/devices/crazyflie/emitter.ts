/** A tiny typed event emitter. Listener exceptions are caught and counted, never propagated into the caller. */
export class TypedEmitter<E extends Record<string, unknown[]>> {
  private readonly listeners: { [K in keyof E]?: Set<(...a: E[K]) => void> } = {};
  listenerErrors = 0;
  lastListenerError: unknown;

  on<K extends keyof E>(event: K, fn: (...a: E[K]) => void): () => void {
    (this.listeners[event] ??= new Set()).add(fn);
    return () => this.off(event, fn);
  }
  once<K extends keyof E>(event: K, fn: (...a: E[K]) => void): () => void {
    const wrap = (...a: E[K]): void => { this.off(event, wrap); fn(...a); };
    return this.on(event, wrap);
  }
  off<K extends keyof E>(event: K, fn: (...a: E[K]) => void): void { this.listeners[event]?.delete(fn); }
  /** Resolve with the next emission of `event` (or reject after `timeoutMs`). */
  next<K extends keyof E>(event: K, timeoutMs: number): Promise<E[K]> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { off(); reject(new Error(`no "${String(event)}" within ${timeoutMs} ms`)); }, timeoutMs);
      const off = this.once(event, (...a) => { clearTimeout(t); resolve(a); });
    });
  }
  protected emit<K extends keyof E>(event: K, ...a: E[K]): void {
    const set = this.listeners[event];
    if (!set) return;
    for (const fn of [...set]) {
      try { fn(...a); } catch (e) { this.listenerErrors++; this.lastListenerError = e; }
    }
  }
}
