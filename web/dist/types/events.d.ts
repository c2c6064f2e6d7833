type Handler<T> = (ev: T) => void;
/** DefaultQueue is how many events an iterator buffers before it drops the oldest. */
export declare const DefaultQueue = 1024;
export declare class Emitter<M extends object> {
    private handlers;
    /** events dropped from full iterator queues, by event name */
    readonly dropped: Map<keyof M, number>;
    private enders;
    /** on calls fn for every event named name until the returned function is called. */
    on<K extends keyof M>(name: K, fn: Handler<M[K]>): () => void;
    /** once resolves with the next event named name. */
    once<K extends keyof M>(name: K): Promise<M[K]>;
    /** emit calls every handler of name; a handler that throws does not stop the others. */
    emit<K extends keyof M>(name: K, ev: M[K]): void;
    /**
     * events returns an async iterator over the events named name from now
     * on. Its queue holds at most max events; when full the oldest is
     * dropped and counted in dropped. It ends when signal aborts or its
     * return() is called (a for-await loop's break).
     */
    events<K extends keyof M>(name: K, opts?: {
        max?: number;
        signal?: AbortSignal;
    }): AsyncIterableIterator<M[K]>;
    /**
     * end finishes every open iterator (the source is gone: a room left or
     * closed, a client closed): each hands out what it had queued, then ends.
     */
    end(): void;
}
export {};
